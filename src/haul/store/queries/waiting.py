"""Explain's SQL (``services/explain.py``): what holds a job's NEW elements back.

Each count is over the job's NEW elements and one reason they may not be
claimable (a later stage, a backoff, a blocked type); the claimable ones are
those the claim's own condition admits, which the caller passes (join
Element to Job to use it), so explain cannot drift from what a claim takes.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from haul.domain.enums import JobStatus
from haul.store.tables import Element, Job

NEW = int(JobStatus.NEW)


def _new_of(job_id: int) -> Any:
    return and_(Element.job_id == job_id, Element.status == NEW)


def later_stage(session: Session, job_id: int, stage: int) -> int:
    """The job's NEW elements of a stage after ``stage``."""
    return (
        session.scalar(select(func.count()).where(_new_of(job_id), Element.stage > stage)) or 0
    )


def backing_off(session: Session, job_id: int, now: datetime) -> tuple[int, Any, Any]:
    """How many of the job's NEW elements wait out a backoff at ``now``, the first and the
    last time one ends."""
    n, first, last = session.execute(
        select(func.count(), func.min(Element.not_before), func.max(Element.not_before)).where(
            _new_of(job_id), Element.not_before > now
        )
    ).one()
    return n, first, last


def of_types(session: Session, job_id: int, types: Collection[int]) -> int:
    """The job's NEW elements of these element types."""
    return (
        session.scalar(
            select(func.count()).where(_new_of(job_id), Element.type.in_(list(types)))
        )
        or 0
    )


def waiting_types(session: Session, job_id: int) -> list[int]:
    """The element types among the job's NEW elements, in order."""
    return sorted(
        session.scalars(
            select(Element.type).where(Element.job_id == job_id, Element.status == NEW).distinct()
        )
    )


def claimable(session: Session, job_id: int, condition: Any) -> int:
    """The job's elements the claim's ``condition`` admits."""
    query = select(func.count()).select_from(Element).join(Job, Job.id == Element.job_id)
    return session.scalar(query.where(Element.job_id == job_id, condition)) or 0


def first_claimable(session: Session, job_id: int, condition: Any) -> Element | None:
    """The job's element a claim would take first (by priority, then key)."""
    return session.scalar(
        select(Element)
        .join(Job, Job.id == Element.job_id)
        .where(Element.job_id == job_id, condition)
        .order_by(Element.priority, Element.job_id, Element.id)
        .limit(1)
    )
