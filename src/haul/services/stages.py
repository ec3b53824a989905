"""Stage advance: a job's elements run stage by stage (a RENAME's copies before
its removals, say); when the current stage drains, the next one becomes
claimable, and when nothing can run any more the job's end is stamped.

Every writer of element states (results, the lease reaper, control verbs,
bans, recover) calls ``after_element_change`` after it writes; it depends on
nothing but the tables, so none of them has to import another to reach it.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haul.domain.enums import RUNNABLE
from haul.store.clock import utcnow
from haul.store.tables import Element, Job


def after_element_change(session: Session, job: Job) -> bool:
    """Advances the job's stage when the current one has drained; stamps its end.

    Returns whether a later stage's elements became claimable.

    Runs after every batch of results, so the common case (the current stage
    still has work) is one indexed probe, not a scan of the job's elements.
    """
    busy = session.scalar(
        select(Element.id)
        .where(
            Element.job_id == job.id, Element.status.in_(RUNNABLE), Element.stage == job.stage
        )
        .limit(1)
    )
    if busy is not None:
        job.ended = None
        return False
    later = session.scalar(
        select(func.min(Element.stage)).where(
            Element.job_id == job.id, Element.status.in_(RUNNABLE)
        )
    )
    if later is None:
        if job.ended is None:
            job.ended = utcnow()
        return False
    job.ended = None
    if later > job.stage:
        job.stage = later
        return True
    return False
