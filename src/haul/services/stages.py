"""Stage advance: a job's elements run stage by stage (a RENAME's copies before
its removals, say); when the current stage drains, the next one becomes
claimable, and when nothing can run any more the job's end is stamped.

Every writer of element states (results, the lease reaper, control verbs,
bans, recover) calls ``after_element_change`` after it writes; it depends on
nothing but the store (its statements are ``store/queries/stages.py``), so
none of them has to import another to reach it.
The result path, which holds no ORM job, calls ``after_results`` with the
job's plain row instead: the same decision (``_advance``), written with one
UPDATE only when it changes something.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from haul.store.clock import utcnow
from haul.store.queries import stages as queries
from haul.store.tables import Job


def _advance(
    session: Session, job_id: int, stage: int, ended: datetime | None
) -> tuple[int, datetime | None, bool]:
    """The job's stage and end after its elements changed, and whether work was made.

    The common case (the current stage still has work) is one indexed probe,
    not a scan of the job's elements.
    """
    if queries.busy_at(session, job_id, stage):
        return _decide(stage, ended, True, None)
    return _decide(stage, ended, False, queries.lowest_stage(session, job_id))


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
        queries.set_stage(session, job.id, stage, ended)
    return made


def after_results_many(session: Session, jobs: list[Any]) -> bool:
    """``after_results`` for many plain job rows: two probes and one executemany
    for the lot instead of two probes per job; the same decision (``_decide``)."""
    if len(jobs) <= 1:
        return any(after_results(session, j) for j in jobs)
    made = False
    writes: list[dict[str, Any]] = []
    jobs = sorted(jobs, key=lambda j: j.id)  # the order every writer locks rows in
    for start in range(0, len(jobs), queries.MANY):
        part = jobs[start : start + queries.MANY]
        busy = queries.busy_among(session, [j.id for j in part])
        idle = [j for j in part if j.id not in busy]
        later = queries.lowest_stages(session, [j.id for j in idle]) if idle else {}
        for j in part:
            stage, ended, more = _decide(j.stage, j.ended, j.id in busy, later.get(j.id))
            made = made or more
            if stage != j.stage or ended != j.ended:
                writes.append({"s_job": j.id, "s_stage": stage, "s_ended": ended})
    queries.set_stages(session, writes)
    return made
