"""Job types: the five built-ins and the custom types admins register.

A custom type's elements carry ``CUSTOM_BASE + row id`` as their type, so the
claim query filters them with the same integer column as built-in types. A
paused type hands out no leases; ``max_scheduled`` caps how many of its
elements are leased at once across every worker.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import CUSTOM_BASE, JobType
from haul.domain.limits import MAX_TRIES, PRIORITY
from haul.services.errors import BadRequest, Conflict, NotFound
from haul.store.dialect import is_postgres
from haul.store.queries import job_types as queries
from haul.store.tables import JobTypeRow

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")
EDITABLE = (
    "title",
    "description",
    "category",
    "priority",
    "max_tries",
    "timeout",
    "is_paused",
    "is_active",
    "max_scheduled",
)


def element_type(row: JobTypeRow) -> int:
    if row.builtin:
        return int(JobType[row.name])
    return CUSTOM_BASE + row.id


def ensure_builtins(session: Session) -> None:
    """The five built-in types exist as rows, so they can be listed and paused.

    Run once when a server starts (after the migrations), not per request.
    """
    have = queries.builtin_names(session)
    for t in JobType:
        if t.name not in have:
            session.add(
                JobTypeRow(
                    name=t.name,
                    version="1",
                    title=t.name.title(),
                    description=f"built-in {t.name} file operation",
                    category="file",
                    builtin=True,
                )
            )
    session.flush()


def list_types(session: Session) -> list[JobTypeRow]:
    return queries.all_types(session)


def get_type(session: Session, name: str, version: str | None = None) -> JobTypeRow:
    rows = queries.versions_of(session, name, version)
    if not rows:
        which = f"{name} version {version}" if version else name
        raise NotFound(f"no job type {which}")
    return rows[0]


def _check(fields: dict[str, Any]) -> None:
    if "priority" in fields and not PRIORITY.holds(int(fields["priority"])):
        raise BadRequest(f"priority: must be between {PRIORITY.low} and {PRIORITY.high}")
    if "max_tries" in fields and not MAX_TRIES.holds(int(fields["max_tries"])):
        raise BadRequest(f"max_tries: must be between {MAX_TRIES.low} and {MAX_TRIES.high}")
    for key in ("timeout", "max_scheduled"):
        if fields.get(key) is not None and int(fields[key]) < 1:
            raise BadRequest(f"{key}: must be at least 1")


def create_type(session: Session, fields: dict[str, Any]) -> JobTypeRow:
    name = str(fields.get("name", ""))
    if not NAME_RE.match(name):
        raise BadRequest("name: letters, digits, '_', '.', '-', starting with a letter")
    if name.upper() in JobType.__members__:
        raise Conflict(f"name: {name} is a built-in job type")
    version = str(fields.get("version") or "1")
    if queries.version_exists(session, name, version):
        raise Conflict(f"job type {name} version {version} already exists")
    _check(fields)
    row = JobTypeRow(name=name, version=version, builtin=False)
    for key in EDITABLE:
        if fields.get(key) is not None:
            setattr(row, key, fields[key])
    session.add(row)
    session.flush()
    return row


def patch_type(session: Session, name: str, version: str, fields: dict[str, Any]) -> JobTypeRow:
    row = get_type(session, name, version)
    _check(fields)
    for key in EDITABLE:
        if key in fields:
            setattr(row, key, fields[key])
    return row


def resolve_claim_types(session: Session, names: list[Any]) -> list[int]:
    """Element type integers a worker asks for, by built-in enum or custom name."""
    out: list[int] = []
    for value in names:
        if isinstance(value, JobType):
            out.append(int(value))
            continue
        text = str(value).strip()
        if text.upper() in JobType.__members__:
            out.append(int(JobType[text.upper()]))
        elif text.isdigit() and int(text) in JobType._value2member_map_:
            out.append(int(text))
        else:
            # A type not registered (yet) has no work: a worker that brings a
            # handler before an admin registers its type still serves the rest.
            rows = queries.named(session, text)
            out.extend(CUSTOM_BASE + r.id for r in rows)
    return out


def blocked_types(session: Session) -> tuple[set[int], dict[int, int]]:
    """(paused element types, {element type: leases it may still hand out})."""
    paused: set[int] = set()
    room: dict[int, int] = {}
    rows = queries.limited(session)
    if not rows:
        return paused, room
    capped = {element_type(r): r.max_scheduled for r in rows if r.max_scheduled}
    if (
        capped
        and is_postgres(session)
        and session.get_bind().get_execution_options().get("haul_write")
    ):
        # Two claims at once would each count the same leases and each take the
        # last slot (READ COMMITTED). Holding the capped types' rows until this
        # claim commits makes them count in turn; SQLite's BEGIN IMMEDIATE
        # already serialises claims. Only write sessions lock (a claim's), so
        # load reports and metrics never wait; id order keeps claims deadlock-free.
        queries.lock_rows(session, [r.id for r in rows if r.max_scheduled])
    if capped:
        running = queries.leased_by_type(session, capped)
        room = {t: max(0, cap - running.get(t, 0)) for t, cap in capped.items()}
    paused = {element_type(r) for r in rows if r.is_paused or not r.is_active}
    return paused, room


def type_name(session: Session, value: int) -> str:
    if value < CUSTOM_BASE:
        return JobType(value).name
    row = session.get(JobTypeRow, value - CUSTOM_BASE)
    return row.name if row else f"type-{value}"


def type_json(row: JobTypeRow, counts: dict[int, int] | None = None) -> dict[str, Any]:
    return {
        "id": element_type(row),
        "name": row.name,
        "version": row.version,
        "title": row.title,
        "description": row.description,
        "category": row.category,
        "priority": row.priority,
        "max_tries": row.max_tries,
        "timeout": row.timeout,
        "is_active": row.is_active,
        "is_paused": row.is_paused,
        "max_scheduled": row.max_scheduled,
        "builtin": row.builtin,
    }
