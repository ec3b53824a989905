"""Stage advance's SQL (``services/stages.py``): the probes that decide a job's next
stage, and the write of its stage and end.

Built once: the result path asks these after every batch of every job. The
common case, work left at the current stage, is one indexed probe that
stops at the first row, not a scan of the job's elements. For a batch's
many jobs (many one-file jobs) the same two probes run for the lot: which
still have work at their current stage (EXISTS stops at the first), then the
lowest stage with work of those that do not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from haul.domain.enums import RUNNABLE
from haul.store.tables import Element, Job

_E = Element.__table__.c
_J = Job.__table__.c
_BUSY = (
    select(_E.id)
    .where(
        _E.job_id == bindparam("s_job"),
        _E.status.in_(RUNNABLE),
        _E.stage == bindparam("s_stage"),
    )
    .limit(1)
)
_LATER = select(func.min(_E.stage)).where(_E.job_id == bindparam("s_job"), _E.status.in_(RUNNABLE))
_BUSY_MANY = select(_J.id).where(
    _J.id.in_(bindparam("s_jobs", expanding=True)),
    select(_E.id)
    .where(_E.job_id == _J.id, _E.status.in_(RUNNABLE), _E.stage == _J.stage)
    .exists(),
)
_LATER_MANY = (
    select(_E.job_id, func.min(_E.stage))
    .where(_E.job_id.in_(bindparam("s_jobs", expanding=True)), _E.status.in_(RUNNABLE))
    .group_by(_E.job_id)
)
MANY = 900  # jobs per probe: one IN list each, under every driver's parameter limit
_SET_JOB = (
    update(Job.__table__)
    .where(_J.id == bindparam("s_job"))
    .values(stage=bindparam("s_stage"), ended=bindparam("s_ended"))
)


def busy_at(session: Session, job_id: int, stage: int) -> bool:
    """Whether the job has a runnable element at ``stage``."""
    conn = session.connection()
    return conn.execute(_BUSY, {"s_job": job_id, "s_stage": stage}).scalar() is not None


def lowest_stage(session: Session, job_id: int) -> int | None:
    """The lowest stage with a runnable element (None: nothing can run)."""
    return session.connection().execute(_LATER, {"s_job": job_id}).scalar()


def busy_among(session: Session, job_ids: Sequence[int]) -> set[int]:
    """Which of these jobs (at most ``MANY``) have a runnable element at their stage."""
    return set(session.connection().execute(_BUSY_MANY, {"s_jobs": list(job_ids)}).scalars())


def lowest_stages(session: Session, job_ids: Sequence[int]) -> dict[int, int]:
    """Each job's lowest stage with a runnable element; jobs with none are left out."""
    rows = session.connection().execute(_LATER_MANY, {"s_jobs": list(job_ids)}).all()
    return {job_id: stage for job_id, stage in rows}


def set_stages(session: Session, writes: list[dict[str, Any]]) -> None:
    """Writes jobs' stage and end: dicts of ``s_job``, ``s_stage``, ``s_ended``."""
    if writes:
        session.connection().execute(_SET_JOB, writes)


def set_stage(session: Session, job_id: int, stage: int, ended: datetime | None) -> None:
    session.connection().execute(_SET_JOB, {"s_job": job_id, "s_stage": stage, "s_ended": ended})
