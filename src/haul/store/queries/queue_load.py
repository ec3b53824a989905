"""The queue load's reads and the load history's writes (``services/queue_load.py``'s SQL).

Counts per element type, now; the sampler's rows, one per type per tick;
thinning old ticks; and a page of ticks summed over the selected types.
What counts as claimable is the claim's condition, which the caller passes.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, distinct, func, insert, select
from sqlalchemy.orm import Session

from haul.store.monitoring_tables import LoadSample
from haul.store.tables import Element, Job, JobTypeRow

THIN_CHUNK = 500  # tick times per DELETE


def job_type_rows(session: Session) -> list[JobTypeRow]:
    """Every job type row, by id."""
    return list(session.scalars(select(JobTypeRow).order_by(JobTypeRow.id)))


def count_by_type(session: Session, statuses: Collection[int]) -> dict[int, int]:
    """Elements in ``statuses``, per element type."""
    status = (
        Element.status == next(iter(statuses))
        if len(statuses) == 1
        else Element.status.in_(sorted(statuses))
    )
    rows = session.execute(
        select(Element.type, func.count()).where(status).group_by(Element.type)
    )
    return {type_id: n for type_id, n in rows}


def claimable_by_type(session: Session, claimable: Any) -> dict[int, tuple[int, Any, Any]]:
    """Per type: how many elements ``claimable`` admits, the longest-waiting one's
    time (its backoff end or its timestamp), and the highest priority among them."""
    since = func.coalesce(Element.not_before, Element.timestamp)
    rows = session.execute(
        select(Element.type, func.count(), func.min(since), func.min(Element.priority))
        .join(Job, Job.id == Element.job_id)
        .where(claimable)
        .group_by(Element.type)
    )
    return {type_id: (n, oldest, prio) for type_id, n, oldest, prio in rows}


def add_samples(session: Session, rows: list[dict[str, Any]]) -> int:
    """Appends one tick's rows (time, job_type_id and the three counts); returns how many."""
    if rows:
        session.execute(insert(LoadSample), rows)
    return len(rows)


def sample_times(session: Session, since: datetime, before: datetime) -> list[datetime]:
    """The distinct tick times in [since, before), oldest first."""
    return list(
        session.scalars(
            select(LoadSample.time)
            .where(LoadSample.time < before, LoadSample.time >= since)
            .distinct()
            .order_by(LoadSample.time)
        )
    )


def delete_ticks(session: Session, times: list[datetime]) -> int:
    """Removes every sample of these ticks; returns how many rows went."""
    removed = 0
    for i in range(0, len(times), THIN_CHUNK):
        removed += session.execute(
            delete(LoadSample).where(LoadSample.time.in_(times[i : i + THIN_CHUNK])),
            execution_options={"synchronize_session": False},
        ).rowcount
    return removed


def tick_page(
    session: Session,
    start: datetime,
    end: datetime,
    type_ids: list[int] | None,
    limit: int,
    offset: int,
) -> tuple[int, list[Any]]:
    """How many ticks lie in [start, end], and a page of them, oldest first, each
    (time, pending, queued, running) summed over ``type_ids`` (None: every type)."""
    conds = [LoadSample.time >= start, LoadSample.time <= end]
    if type_ids is not None:
        conds.append(LoadSample.job_type_id.in_(type_ids))
    count = session.scalar(select(func.count(distinct(LoadSample.time))).where(*conds)) or 0
    rows = session.execute(
        select(
            LoadSample.time,
            func.sum(LoadSample.pending_count),
            func.sum(LoadSample.queued_count),
            func.sum(LoadSample.running_count),
        )
        .where(*conds)
        .group_by(LoadSample.time)
        .order_by(LoadSample.time)
        .limit(limit)
        .offset(offset)
    )
    return count, list(rows)
