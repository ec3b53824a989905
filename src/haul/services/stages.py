"""Stage advance: a job's elements run stage by stage (a RENAME's copies before
its removals, say); when the current stage drains, the next one becomes
claimable, and when nothing can run any more the job's end is stamped.

Every writer of element states (results, the lease reaper, control verbs,
bans, recover) calls ``after_element_change`` after it writes; it depends on
nothing but the tables, so none of them has to import another to reach it.
The result path, which holds no ORM job, calls ``after_results`` with the
job's plain row instead: the same decision (``_advance``), written with one
UPDATE only when it changes something.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from haul.domain.enums import RUNNABLE
from haul.store.clock import utcnow
from haul.store.tables import Element, Job

_E = Element.__table__.c
_J = Job.__table__.c
# Built once: the result path asks these after every batch of every job.
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
# The same two probes for a batch's many jobs (many one-file jobs): which
# still have work at their current stage (EXISTS stops at the first), then
# the lowest stage with work of those that do not.
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
# Jobs per probe: one IN list each, under every driver's parameter limit.
_MANY = 900
_SET_JOB = (
    update(Job.__table__)
    .where(_J.id == bindparam("s_job"))
    .values(stage=bindparam("s_stage"), ended=bindparam("s_ended"))
)


def _advance(
    session: Session, job_id: int, stage: int, ended: datetime | None
) -> tuple[int, datetime | None, bool]:
    """The job's stage and end after its elements changed, and whether work was made.

    The common case (the current stage still has work) is one indexed probe,
    not a scan of the job's elements.
    """
    conn = session.connection()
    busy = conn.execute(_BUSY, {"s_job": job_id, "s_stage": stage}).scalar()
    if busy is not None:
        return _decide(stage, ended, True, None)
    later = conn.execute(_LATER, {"s_job": job_id}).scalar()
    return _decide(stage, ended, False, later)


def _decide(
    stage: int, ended: datetime | None, busy: bool, later: int | None
) -> tuple[int, datetime | None, bool]:
    """The decision itself, from the probes' answers: work left at the current
    stage (``busy``), else the lowest stage with work (``later``, None: none)."""
    if busy:
        return stage, None, False
    if later is None:
        return stage, ended if ended is not None else utcnow(), False
    if later > stage:
        return later, None, True
    return stage, None, False


def after_element_change(session: Session, job: Job) -> bool:
    """Advances the job's stage when the current one has drained; stamps its end.

    Returns whether a later stage's elements became claimable.
    """
    # Flushed first: the probes read the elements, and run on the connection.
    session.flush()
    stage, ended, made = _advance(session, job.id, job.stage, job.ended)
    job.ended = ended
    if stage != job.stage:
        job.stage = stage
    return made


def after_results(session: Session, job: Any) -> bool:
    """``after_element_change`` for a plain job row (``id``, ``stage``, ``ended``).

    Writes the job only when its stage or end changes, which most batches
    of results never do.
    """
    stage, ended, made = _advance(session, job.id, job.stage, job.ended)
    if stage != job.stage or ended != job.ended:
        session.connection().execute(
            _SET_JOB, {"s_job": job.id, "s_stage": stage, "s_ended": ended}
        )
    return made


def after_results_many(session: Session, jobs: list[Any]) -> bool:
    """``after_results`` for many plain job rows: two probes and one executemany
    for the lot instead of two probes per job; the same decision (``_decide``)."""
    if len(jobs) <= 1:
        return any(after_results(session, j) for j in jobs)
    conn = session.connection()
    made = False
    writes: list[dict[str, Any]] = []
    jobs = sorted(jobs, key=lambda j: j.id)  # the order every writer locks rows in
    for start in range(0, len(jobs), _MANY):
        part = jobs[start : start + _MANY]
        busy = set(conn.execute(_BUSY_MANY, {"s_jobs": [j.id for j in part]}).scalars())
        idle = [j for j in part if j.id not in busy]
        later = (
            dict(conn.execute(_LATER_MANY, {"s_jobs": [j.id for j in idle]}).all())
            if idle
            else {}
        )
        for j in part:
            stage, ended, more = _decide(j.stage, j.ended, j.id in busy, later.get(j.id))
            made = made or more
            if stage != j.stage or ended != j.ended:
                writes.append({"s_job": j.id, "s_stage": stage, "s_ended": ended})
    if writes:
        conn.execute(_SET_JOB, writes)
    return made
