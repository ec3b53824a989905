"""What each worker was last seen doing, written beside the worker protocol's own writes.

Workers never report "bytes in the last minute"; they report a running byte
count per element. To turn counts into a rate that is right with any number
of server processes, the last count per leased element is kept in the
database (``worker_transfers``) and each report appends the difference to
``worker_bytes``, which the sampler prunes after a few minutes.

These writes run in the same transaction as the report they follow, so a
report that is refused leaves no trace here either.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from haul.domain.enums import LEASED, JobStatus, JobType, Role
from haul.services.job_types import type_name
from haul.store import dialect
from haul.store.clock import as_utc, utcnow
from haul.store.key_groups import rectangles
from haul.store.monitoring_tables import WorkerActivity, WorkerBytes, WorkerTransfer
from haul.store.tables import Element, User

ACTIVE_SECONDS = 60
RATE_WINDOW = timedelta(seconds=60)
KEEP_BYTES = timedelta(minutes=10)
STALE_TRANSFER = timedelta(hours=1)
MAX_LISTED_ELEMENTS = 100
IDLE_TOUCH_SECONDS = 5.0
CHUNK = 900  # ids per IN list: below SQLite's default bound-parameter limit


_last_idle_touch: dict[int, float] = {}

# Built once: every result batch runs them (ids are expanding bind parameters).
_T = WorkerTransfer.__table__.c
_PREVIOUS = select(_T.job_id, _T.element_id, _T.worker_id, _T.transferred).where(
    _T.job_id == bindparam("w_job"), _T.element_id.in_(bindparam("w_ids", expanding=True))
)
_DONE_WITH = (
    delete(WorkerTransfer.__table__)
    .where(
        _T.job_id.in_(bindparam("w_jobs", expanding=True)),
        _T.element_id.in_(bindparam("w_ids", expanding=True)),
    )
    .returning(_T.job_id, _T.element_id, _T.worker_id, _T.transferred)
)
_ADD_BYTES = insert(WorkerBytes.__table__)


@dataclass
class Progress:
    job_id: int
    element_id: int
    transferred: int | None  # None: a result that reported no byte count


_TOUCH: dict[tuple[str, tuple[str, ...], bool, tuple[str, ...]], Any] = {}


def _touch_stmt(
    session: Session, changed: tuple[str, ...], host: bool, counted: tuple[str, ...]
) -> Any:
    """The activity upsert for these changed columns, built once per kind of call.

    Claims, heartbeats and results each touch the row on every request; the
    values are bind parameters (``t_*`` inserted, ``u_*`` set on conflict).
    """
    key = (dialect.name(session), changed, host, counted)
    found = _TOUCH.get(key)
    if found is None:
        table = WorkerActivity.__table__
        names = ("worker_id", "first_seen", "last_seen", "host", "claimed", "finished", *changed)
        update: dict[str, Any] = {n: bindparam(f"u_{n}") for n in ("last_seen", *changed)}
        if host:
            update["host"] = bindparam("u_host")
        for n in counted:
            update[n] = table.c[n] + bindparam(f"u_{n}")
        found = _TOUCH[key] = dialect.upsert(session, table, ["worker_id"], update).values(
            {n: bindparam(f"t_{n}") for n in names}
        )
    return found


def touch(session: Session, worker_id: int, now: datetime, **changes: Any) -> None:
    """Creates or updates the worker's activity row; ``claimed``/``finished`` are increments."""
    increments = {k: changes.pop(k) for k in ("claimed", "finished") if k in changes}
    host = changes.pop("host", "") or ""
    values = {
        "worker_id": worker_id,
        "first_seen": now,
        "last_seen": now,
        "host": host,
        "claimed": increments.get("claimed", 0),
        "finished": increments.get("finished", 0),
        **changes,
    }
    params = {f"t_{k}": v for k, v in values.items()}
    params.update({f"u_{k}": v for k, v in changes.items()})
    params["u_last_seen"] = now
    if host:
        params["u_host"] = host
    params.update({f"u_{k}": n for k, n in increments.items()})
    stmt = _touch_stmt(session, tuple(sorted(changes)), bool(host), tuple(sorted(increments)))
    session.connection().execute(stmt, params)


def claimed(
    session: Session,
    worker_id: int,
    types: Iterable[Any] | None,
    protocols: Iterable[Any] | None,
    n: int,
) -> None:
    """Every claim counts as contact, empty ones too: an idle worker is still alive.

    Idle workers long-poll, asking many times a second; an empty claim is
    recorded at most every IDLE_TOUCH_SECONDS per worker and server process,
    so waiting costs the database no writes to speak of.
    """
    now_mono = time.monotonic()
    if n == 0 and now_mono - _last_idle_touch.get(worker_id, -1e9) < IDLE_TOUCH_SECONDS:
        return
    _last_idle_touch[worker_id] = now_mono
    touch(
        session,
        worker_id,
        utcnow(),
        last_claim=utcnow(),
        types=sorted({_claim_type_name(t) for t in types or []}),
        protocols=sorted(getattr(p, "name", str(p)) for p in protocols) if protocols else None,
        claimed=n,
    )


def _claim_type_name(value: Any) -> str:
    """A type as a worker asked for it (enum, number or name), spelled as elements name it."""
    if isinstance(value, JobType):
        return value.name
    text = str(value).strip()
    if text.isdigit() and int(text) in JobType._value2member_map_:
        return JobType(int(text)).name
    return text.upper() if text.upper() in JobType.__members__ else text


def _by_job(keys: Iterable[tuple[int, int]]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for job_id, element_id in keys:
        out[job_id].append(element_id)
    return out


def _previous(session: Session, keys: set[tuple[int, int]]) -> dict[tuple[int, int], Any]:
    """Last reported counts of these elements, a few plain-row queries per batch."""
    found: dict[tuple[int, int], Any] = {}
    conn = session.connection()
    for job_id, ids in _by_job(keys).items():
        for i in range(0, len(ids), CHUNK):
            for row in conn.execute(_PREVIOUS, {"w_job": job_id, "w_ids": ids[i : i + CHUNK]}):
                found[(row.job_id, row.element_id)] = row
    return found


def _account(
    session: Session,
    worker_id: int,
    reports: list[Progress],
    now: datetime,
    previous: dict[tuple[int, int], Any] | None = None,
) -> int:
    """Appends the batch's byte delta since each element's last report; returns it.

    ``previous``: the elements' last reports, when the caller already has them.
    """
    # A count of 0 adds nothing whatever came before (a restart counts from 0),
    # so only non-zero counts need their previous report looked up.
    reports = [r for r in reports if r.transferred]
    if not reports:
        return 0
    if previous is None:
        previous = _previous(session, {(r.job_id, r.element_id) for r in reports})
    total = 0
    for r in reports:
        assert r.transferred is not None
        prev = previous.get((r.job_id, r.element_id))
        before = prev.transferred if prev is not None and prev.worker_id == worker_id else 0
        # A count that went down means the element restarted (a new attempt).
        total += r.transferred - before if r.transferred >= before else r.transferred
    if total > 0:
        session.connection().execute(
            _ADD_BYTES, {"worker_id": worker_id, "time": now, "bytes": total}
        )
    return total


def heartbeats(session: Session, worker_id: int, reports: list[Progress]) -> None:
    now = utcnow()
    # A batch may carry two beats of one element; the later count is the one that stands.
    latest = {(r.job_id, r.element_id): r for r in reports if r.transferred is not None}
    counted = list(latest.values())
    _account(session, worker_id, counted, now)
    if counted:
        stmt = dialect.upsert(
            session,
            WorkerTransfer.__table__,  # type: ignore[arg-type]
            ["job_id", "element_id"],
            lambda new: {
                "worker_id": new.worker_id,
                "transferred": new.transferred,
                "updated": new.updated,
            },
        )
        session.execute(
            stmt,
            [
                {
                    "job_id": r.job_id,
                    "element_id": r.element_id,
                    "worker_id": worker_id,
                    "transferred": r.transferred,
                    "updated": now,
                }
                for r in counted
            ],
        )
    touch(session, worker_id, now, last_heartbeat=now)


def results(session: Session, worker_id: int, reports: list[Progress], host: str = "") -> None:
    """Final byte counts of accepted results; the per-element rows are done with.

    The rows are deleted first, and the DELETE returns what they held: the
    previous counts the byte delta needs, without reading them separately.
    """
    now = utcnow()
    conn = session.connection()
    previous: dict[tuple[int, int], Any] = {}
    # One DELETE per group of jobs reporting the same element ids, not per job:
    # a batch of one-file jobs is a batch of jobs (store/key_groups.py).
    for jobs, ids in rectangles((r.job_id, r.element_id) for r in reports):
        for row in conn.execute(_DONE_WITH, {"w_jobs": jobs, "w_ids": ids}):
            previous[(row.job_id, row.element_id)] = row
    _account(session, worker_id, reports, now, previous)
    touch(session, worker_id, now, last_result=now, finished=len(reports), host=host[:255])


def prune(session: Session, now: datetime | None = None) -> None:
    """Drops byte deltas past the rate window's use and rows of leases that were lost."""
    now = now or utcnow()
    session.execute(
        delete(WorkerBytes).where(WorkerBytes.time < now - KEEP_BYTES),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        delete(WorkerTransfer).where(WorkerTransfer.updated < now - STALE_TRANSFER),
        execution_options={"synchronize_session": False},
    )


def active_workers(session: Session, now: datetime | None = None) -> int:
    now = now or utcnow()
    since = now - timedelta(seconds=ACTIVE_SECONDS)
    return session.scalar(select(func.count()).where(WorkerActivity.last_seen >= since)) or 0


def serving(session: Session, now: datetime | None = None) -> list[WorkerActivity]:
    """Activity rows of workers seen within the active window (for explain)."""
    now = now or utcnow()
    since = now - timedelta(seconds=ACTIVE_SECONDS)
    return list(session.scalars(select(WorkerActivity).where(WorkerActivity.last_seen >= since)))


def _iso(value: datetime | None) -> str | None:
    v = as_utc(value)
    return v.isoformat() if v is not None else None


def workers(session: Session, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every worker account (and any admin that claimed work), most recently seen first."""
    now = now or utcnow()
    seen_ids = select(WorkerActivity.worker_id)
    rows = session.execute(
        select(User, WorkerActivity)
        .outerjoin(WorkerActivity, WorkerActivity.worker_id == User.id)
        .where(or_(User.role == Role.WORKER, User.id.in_(seen_ids)))
        .order_by(User.id)
    ).all()
    ids = [u.id for u, _ in rows]
    held: dict[int, list[Element]] = {i: [] for i in ids}
    held_count: dict[int, int] = dict.fromkeys(ids, 0)
    if ids:
        for worker_id, n in session.execute(
            select(Element.worker_id, func.count())
            .where(Element.status.in_(LEASED), Element.worker_id.in_(ids))
            .group_by(Element.worker_id)
        ):
            held_count[worker_id] = n
        for e in session.scalars(
            select(Element)
            .where(Element.status.in_(LEASED), Element.worker_id.in_(ids))
            .order_by(Element.job_id, Element.id)
            .limit(MAX_LISTED_ELEMENTS * 10)
        ):
            if e.worker_id is not None and len(held[e.worker_id]) < MAX_LISTED_ELEMENTS:
                held[e.worker_id].append(e)
    moved = dict(
        session.execute(
            select(WorkerBytes.worker_id, func.sum(WorkerBytes.bytes))
            .where(WorkerBytes.time >= now - RATE_WINDOW)
            .group_by(WorkerBytes.worker_id)
        ).all()
    )
    out = []
    for user, act in rows:
        last_seen = as_utc(act.last_seen) if act else None
        out.append(
            {
                "id": user.id,
                "name": user.name or user.email,
                "account": user.email,
                "role": user.role,
                "active": bool(last_seen and (now - last_seen).total_seconds() <= ACTIVE_SECONDS),
                "first_seen": _iso(act.first_seen) if act else None,
                "last_seen": _iso(act.last_seen) if act else None,
                "last_heartbeat": _iso(act.last_heartbeat) if act else None,
                "last_claim": _iso(act.last_claim) if act else None,
                "last_result": _iso(act.last_result) if act else None,
                "host": act.host if act else "",
                "types": act.types if act else None,
                "protocols": act.protocols if act else None,
                "claimed": act.claimed if act else 0,
                "finished": act.finished if act else 0,
                "held": held_count.get(user.id, 0),
                "elements": [
                    {
                        "jobid": e.job_id,
                        "elementid": e.id,
                        "type": type_name(session, e.type),
                        "status": JobStatus(e.status).name,
                        "size": e.size,
                        "transferred": int((e.progress or {}).get("transferred") or 0),
                        "lease_expires": _iso(e.lease_expires),
                    }
                    for e in held.get(user.id, [])
                ],
                "bytes_last_minute": int(moved.get(user.id) or 0),
            }
        )
    out.sort(key=lambda w: w["last_seen"] or "", reverse=True)
    return out
