"""The failure reads' SQL (``services/job_errors.py``): the error of each element's
latest attempt, and a job's FAILED elements grouped by that error's code.

The error is the attempt's JSON ``error`` ({code, scope, message, retryable});
grouping reads its ``code`` inside the database, so a job with a million
failures sums them without loading them.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haul.domain.enums import JobStatus
from haul.store.tables import Attempt, Element

FAILED = int(JobStatus.FAILED)


def latest_errors(
    session: Session, job_id: int, element_ids: Collection[int]
) -> list[tuple[int, Any]]:
    """(element id, error) of the latest attempt of each of these elements that has one."""
    latest = (
        select(Attempt.element_id, func.max(Attempt.attempt).label("n"))
        .where(Attempt.job_id == job_id, Attempt.element_id.in_(list(element_ids)))
        .group_by(Attempt.element_id)
        .subquery()
    )
    rows = session.execute(
        select(Attempt.element_id, Attempt.error)
        .join(latest, (latest.c.element_id == Attempt.element_id)
              & (latest.c.n == Attempt.attempt))
        .where(Attempt.job_id == job_id)
    )
    return [(element_id, error) for element_id, error in rows]


def failed_by_code(session: Session, job_id: int) -> list[tuple[str | None, int, int]]:
    """(code, how many, the lowest element id) of the job's FAILED elements, by the code
    of their latest attempt's error; elements without an attempt are not counted."""
    latest = (
        select(Attempt.element_id, func.max(Attempt.attempt).label("n"))
        .join(Element, (Element.job_id == Attempt.job_id) & (Element.id == Attempt.element_id))
        .where(Attempt.job_id == job_id, Element.status == FAILED)
        .group_by(Attempt.element_id)
        .subquery()
    )
    code = Attempt.error["code"].as_string()
    rows = session.execute(
        select(code, func.count(), func.min(Attempt.element_id))
        .join(latest, (latest.c.element_id == Attempt.element_id)
              & (latest.c.n == Attempt.attempt))
        .where(Attempt.job_id == job_id)
        .group_by(code)
    ).all()
    return [(code_value, n, example) for code_value, n, example in rows]


def failed_count(session: Session, job_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(Element.job_id == job_id, Element.status == FAILED)
        )
        or 0
    )


def last_error(session: Session, job_id: int, element_id: int) -> Any:
    """The error of the element's latest attempt (None without one)."""
    return session.scalar(
        select(Attempt.error)
        .where(Attempt.job_id == job_id, Attempt.element_id == element_id)
        .order_by(Attempt.attempt.desc())
        .limit(1)
    )


def element(session: Session, job_id: int, element_id: int) -> Element | None:
    return session.get(Element, (job_id, element_id))
