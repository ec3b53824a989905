"""Element reads of the read models: the dashboard's progress and attempts, the
metrics' queue depth and the sites a batch of results copied between."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haul.domain.enums import LEASED, TERMINAL_STATUSES, JobStatus
from haul.store.tables import Attempt, Element, Job

_OPEN = sorted(int(s) for s in JobStatus if s not in TERMINAL_STATUSES)


def leased_counts(session: Session, job_ids: Collection[int]) -> dict[int, int]:
    """How many elements of each of these jobs are leased (claimed ahead or running)."""
    rows = session.execute(
        select(Element.job_id, func.count())
        .where(Element.job_id.in_(list(job_ids)), Element.status.in_(LEASED))
        .group_by(Element.job_id)
    )
    return {job_id: n for job_id, n in rows}


def leased_progress(session: Session, job_ids: Collection[int]) -> list[tuple[int, Any]]:
    """(job id, progress) of the leased elements of these jobs that reported progress.

    Not every leased element: a worker claims thousands ahead of its slots,
    and reading (and decoding) each one's empty progress cost a dashboard
    refresh ~100 ms on a 10,000-file job.
    """
    rows = session.execute(
        select(Element.job_id, Element.progress).where(
            Element.job_id.in_(list(job_ids)),
            Element.status.in_(LEASED),
            Element.progress.is_not(None),
        )
    )
    return [(job_id, progress) for job_id, progress in rows]


def attempts_of(session: Session, job_id: int, element_id: int) -> list[Attempt]:
    """The element's attempts, the latest first."""
    return list(
        session.scalars(
            select(Attempt)
            .where(Attempt.job_id == job_id, Attempt.element_id == element_id)
            .order_by(Attempt.attempt.desc())
        )
    )


def latest_done_attempt(session: Session, job_id: int, element_id: int) -> int | None:
    """The number of the element's latest DONE attempt (a LIST's listing is its), if any."""
    return session.scalar(
        select(Attempt.attempt)
        .where(
            Attempt.job_id == job_id,
            Attempt.element_id == element_id,
            Attempt.status == int(JobStatus.DONE),
        )
        .order_by(Attempt.attempt.desc())
        .limit(1)
    )


def open_counts(session: Session) -> dict[tuple[int, int], int]:
    """Unfinished elements per (status, type)."""
    rows = session.execute(
        select(Element.status, Element.type, func.count())
        .where(Element.status.in_(_OPEN))
        .group_by(Element.status, Element.type)
    )
    return {(status, type_id): n for status, type_id, n in rows}


def job_sites(session: Session, job_ids: Collection[int]) -> dict[int, Any]:
    """Each job's (id, src_siteid, dst_siteid) row, by id."""
    rows = session.execute(
        select(Job.id, Job.src_siteid, Job.dst_siteid).where(Job.id.in_(list(job_ids)))
    )
    return {row.id: row for row in rows}
