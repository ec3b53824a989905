"""The SQL of the workers' activity rows (`services/worker_activity.py` decides
what to write): the activity upsert, the per-element byte counts, the byte
deltas, pruning, and the workers page's reads.

The result path's statements are built once (every result batch runs them;
ids are list parameters, dialect.in_values), the upsert once per kind of call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from haul.domain.enums import LEASED, Role
from haul.store import dialect
from haul.store.key_groups import rectangles
from haul.store.monitoring_tables import WorkerActivity, WorkerBytes, WorkerTransfer
from haul.store.tables import Element, User

_T = WorkerTransfer.__table__.c
_PREVIOUS = select(_T.job_id, _T.element_id, _T.worker_id, _T.transferred).where(
    dialect.in_values(_T.job_id, "w_jobs"),
    dialect.in_values(_T.element_id, "w_ids"),
)
_DONE_WITH = (
    delete(WorkerTransfer.__table__)
    .where(
        dialect.in_values(_T.job_id, "w_jobs"),
        dialect.in_values(_T.element_id, "w_ids"),
    )
    .returning(_T.job_id, _T.element_id, _T.worker_id, _T.transferred)
)
# Whether any count row of these jobs exists: elements copied without a
# heartbeat (small files, most of a big job's) have none, and their batch
# needs no DELETE of hundreds of keys.
_ANY_OF_JOBS = select(_T.job_id).where(dialect.in_values(_T.job_id, "w_jobs")).limit(1)
_ADD_BYTES = insert(WorkerBytes.__table__)
_TOUCH: dict[tuple[str, tuple[str, ...], bool, tuple[str, ...]], Any] = {}


def _touch_stmt(
    session: Session, changed: tuple[str, ...], host: bool, counted: tuple[str, ...]
) -> Any:
    """The activity upsert for these changed columns, built once per kind of call.

    The values are bind parameters (``t_*`` inserted, ``u_*`` set on conflict).
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


def touch(
    session: Session,
    params: dict[str, Any],
    changed: tuple[str, ...],
    host: bool,
    counted: tuple[str, ...],
) -> None:
    """Creates or updates a worker's activity row (`params`: ``t_*`` and ``u_*`` values)."""
    session.connection().execute(_touch_stmt(session, changed, host, counted), params)


def previous_counts(
    session: Session, keys: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], Any]:
    """The last reported byte counts of these elements, one query per group of
    jobs reporting the same element ids (store/key_groups.py), as `done_with`."""
    conn = session.connection()
    found: dict[tuple[int, int], Any] = {}
    for jobs, ids in rectangles(keys):
        for row in conn.execute(_PREVIOUS, {"w_jobs": jobs, "w_ids": ids}):
            found[(row.job_id, row.element_id)] = row
    return found


def done_with(session: Session, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Any]:
    """Deletes these elements' count rows and answers what they held.

    One DELETE per group of jobs reporting the same element ids, not per job:
    a batch of one-file jobs is a batch of jobs (store/key_groups.py). None
    when the jobs have no count rows at all (one indexed probe).
    """
    keys = list(keys)
    conn = session.connection()
    previous: dict[tuple[int, int], Any] = {}
    jobs_of = sorted({job_id for job_id, _ in keys})
    if not jobs_of or conn.execute(_ANY_OF_JOBS, {"w_jobs": jobs_of}).first() is None:
        return previous
    for jobs, ids in rectangles(keys):
        for row in conn.execute(_DONE_WITH, {"w_jobs": jobs, "w_ids": ids}):
            previous[(row.job_id, row.element_id)] = row
    return previous


def add_bytes(session: Session, worker_id: int, now: datetime, total: int) -> None:
    session.connection().execute(_ADD_BYTES, {"worker_id": worker_id, "time": now, "bytes": total})


def keep_counts(session: Session, rows: list[dict[str, Any]]) -> None:
    """Upserts elements' latest byte counts (keyed by job_id, element_id)."""
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
    session.execute(stmt, rows)


def prune(session: Session, bytes_before: datetime, counts_before: datetime) -> None:
    """Drops byte deltas before `bytes_before`, count rows not updated since `counts_before`."""
    session.execute(
        delete(WorkerBytes).where(WorkerBytes.time < bytes_before),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        delete(WorkerTransfer).where(WorkerTransfer.updated < counts_before),
        execution_options={"synchronize_session": False},
    )


def seen_since_count(session: Session, since: datetime) -> int:
    return session.scalar(select(func.count()).where(WorkerActivity.last_seen >= since)) or 0


def seen_since(session: Session, since: datetime) -> list[WorkerActivity]:
    return list(session.scalars(select(WorkerActivity).where(WorkerActivity.last_seen >= since)))


def worker_accounts(session: Session) -> list[Any]:
    """(User, WorkerActivity or None) of every worker account and anyone who claimed work."""
    seen_ids = select(WorkerActivity.worker_id)
    return list(
        session.execute(
            select(User, WorkerActivity)
            .outerjoin(WorkerActivity, WorkerActivity.worker_id == User.id)
            .where(or_(User.role == Role.WORKER, User.id.in_(seen_ids)))
            .order_by(User.id)
        ).all()
    )


def held_counts(session: Session, worker_ids: Sequence[int]) -> dict[int, int]:
    """How many leased elements each of these workers holds."""
    return dict(
        session.execute(
            select(Element.worker_id, func.count())
            .where(Element.status.in_(LEASED), Element.worker_id.in_(worker_ids))
            .group_by(Element.worker_id)
        ).all()
    )


def held_elements(session: Session, worker_ids: Sequence[int], limit: int) -> list[Element]:
    """Leased elements of these workers, in key order, at most `limit`."""
    return list(
        session.scalars(
            select(Element)
            .where(Element.status.in_(LEASED), Element.worker_id.in_(worker_ids))
            .order_by(Element.job_id, Element.id)
            .limit(limit)
        )
    )


def bytes_since(session: Session, since: datetime) -> dict[int, int]:
    """Bytes each worker moved since `since`."""
    return dict(
        session.execute(
            select(WorkerBytes.worker_id, func.sum(WorkerBytes.bytes))
            .where(WorkerBytes.time >= since)
            .group_by(WorkerBytes.worker_id)
        ).all()
    )
