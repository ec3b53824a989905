"""The job reads' SQL (``services/job_reads.py``): a job, its element counts, pages.

Owner checks and the derived status stay with the service; these statements
only read. The two most polled (one job, its counts by status) are built
once, since building a statement costs more than running it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from haul.domain.enums import JobType
from haul.domain.job_status import LEASED_STATUSES
from haul.store.tables import Attempt, Element, Job

_ONE_JOB = select(Job).where(Job.id == bindparam("job_id"))
_COUNTS_OF_ONE = (
    select(Element.status, func.count())
    .where(Element.job_id == bindparam("job_id"))
    .group_by(Element.status)
)


def one_job(session: Session, job_id: int) -> Job | None:
    return session.execute(_ONE_JOB, {"job_id": job_id}).scalar_one_or_none()


def by_submission(session: Session, user_id: int, submission_id: str) -> Job | None:
    """The user's job a submission with this id made, if any."""
    return session.scalar(
        select(Job).where(Job.user_id == user_id, Job.submission_id == submission_id)
    )


def status_counts(session: Session, job_id: int) -> list[tuple[int, int]]:
    """(status, how many) of the job's elements."""
    return [(status, n) for status, n in session.execute(_COUNTS_OF_ONE, {"job_id": job_id})]


def grouped_counts(session: Session, job_ids: Collection[int]) -> list[Any]:
    """Per job, status and whether the element is one of the job's files (its type is
    the job's): (job_id, job type, status, is_file, count, sum of sizes, first start)."""
    is_file = (Element.type == Job.type).label("is_file")
    return list(
        session.execute(
            select(Element.job_id, Job.type, Element.status, is_file, func.count(),
                   func.sum(Element.size), func.min(Element.started))
            .join(Job, Job.id == Element.job_id)
            .where(Element.job_id.in_(list(job_ids)))
            .group_by(Element.job_id, Job.type, Element.status, is_file)
        )
    )


def copy_progress(session: Session, job_ids: Collection[int]) -> list[tuple[int, Any]]:
    """(job id, progress) of these jobs' leased COPY elements that reported progress."""
    rows = session.execute(
        select(Element.job_id, Element.progress).where(
            Element.job_id.in_(list(job_ids)),
            Element.status.in_([int(s) for s in LEASED_STATUSES]),
            Element.type == int(JobType.COPY),
            Element.progress.is_not(None),
        )
    )
    return [(job_id, progress) for job_id, progress in rows]


def jobs_query(
    *,
    user_id: int | None,
    types: Sequence[int] | None,
    submitted_since: datetime | None,
    ended_since: datetime | None,
) -> Select[Any]:
    """Jobs newest first, of one owner (None: every owner), of these types, since these times."""
    q = select(Job)
    if user_id is not None:
        q = q.where(Job.user_id == user_id)
    if types:
        q = q.where(Job.type.in_(list(types)))
    if submitted_since is not None:
        q = q.where(Job.timestamp >= submitted_since)
    if ended_since is not None:
        q = q.where(Job.ended.is_not(None), Job.ended >= ended_since)
    return q.order_by(Job.id.desc())


def count_of(session: Session, query: Select[Any]) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def page_of(session: Session, query: Select[Any], limit: int, offset: int) -> list[Job]:
    return list(session.scalars(query.limit(limit).offset(offset)))


def status_inputs(
    session: Session, query: Select[Any]
) -> tuple[list[tuple[int, bool, bool]], list[tuple[int, int, int]]]:
    """What a derived status needs of every job ``query`` selects, as plain rows:
    (id, cancelled, paused) in the query's order, and (job id, status, count) of
    their elements. Two statements for any number of jobs, no ORM object."""
    flags = query.with_only_columns(Job.id, Job.cancelled, Job.paused)
    ids = query.with_only_columns(Job.id).order_by(None)
    counts = (
        select(Element.job_id, Element.status, func.count())
        .where(Element.job_id.in_(ids.scalar_subquery()))
        .group_by(Element.job_id, Element.status)
    )
    conn = session.connection()  # Core rows: thousands of them, no ORM result layer
    return (
        [(i, bool(c), bool(p)) for i, c, p in conn.execute(flags)],
        [(j, s, n) for j, s, n in conn.execute(counts)],
    )


def jobs_by_id(session: Session, job_ids: Collection[int]) -> dict[int, Job]:
    return {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(list(job_ids))))}


def element(session: Session, job_id: int, element_id: int) -> Element | None:
    return session.get(Element, (job_id, element_id))


def element_count(session: Session, job_id: int) -> int:
    return session.scalar(select(func.count()).where(Element.job_id == job_id)) or 0


def element_page(session: Session, job_id: int, limit: int, offset: int) -> list[Element]:
    return list(
        session.scalars(
            select(Element)
            .where(Element.job_id == job_id)
            .order_by(Element.id)
            .limit(limit)
            .offset(offset)
        )
    )


def tried_count(session: Session, job_id: int) -> int:
    """How many of the job's elements have an attempt."""
    return (
        session.scalar(
            select(func.count(func.distinct(Attempt.element_id))).where(Attempt.job_id == job_id)
        )
        or 0
    )


def latest_attempt_page(
    session: Session, job_id: int, limit: int, offset: int
) -> list[tuple[Element, Attempt]]:
    """A page of the job's elements that have an attempt, each with its latest, by id."""
    latest = (
        select(Attempt.element_id, func.max(Attempt.attempt).label("n"))
        .where(Attempt.job_id == job_id)
        .group_by(Attempt.element_id)
        .subquery()
    )
    rows = session.execute(
        select(Element, Attempt)
        .join(Attempt, (Attempt.job_id == Element.job_id) & (Attempt.element_id == Element.id))
        .join(latest, (latest.c.element_id == Attempt.element_id) & (latest.c.n == Attempt.attempt))
        .where(Element.job_id == job_id)
        .order_by(Element.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [(e, a) for e, a in rows]


def attempt_numbers(session: Session, job_id: int, element_id: int) -> list[int]:
    """The element's attempt numbers, in order."""
    return list(
        session.scalars(
            select(Attempt.attempt)
            .where(Attempt.job_id == job_id, Attempt.element_id == element_id)
            .order_by(Attempt.attempt)
        )
    )


def attempt(session: Session, job_id: int, element_id: int, number: int) -> Attempt | None:
    return session.scalar(
        select(Attempt).where(
            Attempt.job_id == job_id, Attempt.element_id == element_id, Attempt.attempt == number
        )
    )
