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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import JobStatus, JobType
from haul.services.job_types import type_name
from haul.store.clock import as_utc, utcnow
from haul.store.monitoring_tables import WorkerActivity
from haul.store.queries import worker_activity as rows_of
from haul.store.tables import Element

ACTIVE_SECONDS = 60
RATE_WINDOW = timedelta(seconds=60)
KEEP_BYTES = timedelta(minutes=10)
STALE_TRANSFER = timedelta(hours=1)
MAX_LISTED_ELEMENTS = 100
IDLE_TOUCH_SECONDS = 5.0


_last_idle_touch: dict[int, float] = {}


@dataclass
class Progress:
    job_id: int
    element_id: int
    transferred: int | None  # None: a result that reported no byte count


def touch(session: Session, worker_id: int, now: datetime, **changes: Any) -> None:
    """Creates or updates the worker's activity row; ``claimed``/``finished`` are increments.

    Claims, heartbeats and results each touch the row on every request.
    """
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
    rows_of.touch(session, params, tuple(sorted(changes)), bool(host), tuple(sorted(increments)))


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
        previous = rows_of.previous_counts(session, {(r.job_id, r.element_id) for r in reports})
    total = 0
    for r in reports:
        assert r.transferred is not None
        prev = previous.get((r.job_id, r.element_id))
        before = prev.transferred if prev is not None and prev.worker_id == worker_id else 0
        # A count that went down means the element restarted (a new attempt).
        total += r.transferred - before if r.transferred >= before else r.transferred
    if total > 0:
        rows_of.add_bytes(session, worker_id, now, total)
    return total


def heartbeats(session: Session, worker_id: int, reports: list[Progress]) -> None:
    now = utcnow()
    # A batch may carry two beats of one element; the later count is the one that stands.
    latest = {(r.job_id, r.element_id): r for r in reports if r.transferred is not None}
    counted = list(latest.values())
    _account(session, worker_id, counted, now)
    if counted:
        rows_of.keep_counts(
            session,
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
    previous = rows_of.done_with(session, ((r.job_id, r.element_id) for r in reports))
    _account(session, worker_id, reports, now, previous)
    touch(session, worker_id, now, last_result=now, finished=len(reports), host=host[:255])


def prune(session: Session, now: datetime | None = None) -> None:
    """Drops byte deltas past the rate window's use and rows of leases that were lost."""
    now = now or utcnow()
    rows_of.prune(session, now - KEEP_BYTES, now - STALE_TRANSFER)


def active_workers(session: Session, now: datetime | None = None) -> int:
    now = now or utcnow()
    since = now - timedelta(seconds=ACTIVE_SECONDS)
    return rows_of.seen_since_count(session, since)


def serving(session: Session, now: datetime | None = None) -> list[WorkerActivity]:
    """Activity rows of workers seen within the active window (for explain)."""
    now = now or utcnow()
    since = now - timedelta(seconds=ACTIVE_SECONDS)
    return rows_of.seen_since(session, since)


def _iso(value: datetime | None) -> str | None:
    v = as_utc(value)
    return v.isoformat() if v is not None else None


def workers(session: Session, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every worker account (and any admin that claimed work), most recently seen first."""
    now = now or utcnow()
    rows = rows_of.worker_accounts(session)
    ids = [u.id for u, _ in rows]
    held: dict[int, list[Element]] = {i: [] for i in ids}
    held_count: dict[int, int] = dict.fromkeys(ids, 0)
    if ids:
        held_count.update(rows_of.held_counts(session, ids))
        for e in rows_of.held_elements(session, ids, MAX_LISTED_ELEMENTS * 10):
            if e.worker_id is not None and len(held[e.worker_id]) < MAX_LISTED_ELEMENTS:
                held[e.worker_id].append(e)
    moved = rows_of.bytes_since(session, now - RATE_WINDOW)
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
