"""The control verbs' own SQL (``services/control.py``, ``services/recover.py``).

A verb reads its job locked (``FOR UPDATE`` on PostgreSQL, so two verbs on one
job run one after the other), checks its guard in the service, and writes
through ``steering`` (element states) or here (a job's removal). The element
writes of a verb are in ``steering``; these are the job-level statements.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from haul.domain.enums import RUNNABLE, ElementMode
from haul.store.dialect import for_update
from haul.store.tables import Element, Job


def locked_job(session: Session, job_id: int) -> Job | None:
    """The job, locked for update on PostgreSQL."""
    return session.scalar(for_update(select(Job).where(Job.id == job_id), session))


def remove_job(session: Session, job_id: int) -> None:
    """The job and (by cascade) its elements, attempts and listings."""
    session.execute(delete(Job).where(Job.id == job_id))


def existing_ids(session: Session, job_id: int, ids: Collection[int]) -> set[int]:
    """Which of these element ids the job has."""
    return set(
        session.scalars(
            select(Element.id).where(Element.job_id == job_id, Element.id.in_(list(ids)))
        )
    )


def checks_pending(session: Session, job_id: int) -> int:
    """The job's elements still to be checked by a recover (VERIFY, not finished)."""
    return (
        session.scalar(
            select(func.count()).where(
                Element.job_id == job_id,
                Element.mode == ElementMode.VERIFY,
                Element.status.in_(RUNNABLE),
            )
        )
        or 0
    )
