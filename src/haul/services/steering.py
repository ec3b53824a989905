"""The hand-made requeues (retry, reactivate, recover), applied to a job's elements.

Which elements a requeue takes and what they become is
``domain.transitions``' (``requeued_from``, ``requeue``); the guarded UPDATE
that writes it is ``store/queries/steering.py``'s, beside the cancel's two
statements, which control verbs and bans call directly so the two can never
disagree on what a cancel does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import JobStatus
from haul.domain.transitions import Requeue, requeue, requeued_from
from haul.store.queries import steering


def requeue_elements(
    session: Session,
    job_id: int,
    event: Requeue,
    *,
    where: tuple[Any, ...] = (),
    extra: dict[str, Any] | None = None,
) -> int:
    """The job's elements the event applies to (narrowed by ``where``) are queued again."""
    statuses = requeued_from(event)
    first = min(statuses, key=int)
    values = {
        k: int(v) if isinstance(v, JobStatus) else v
        for k, v in (requeue(event, first) or {}).items()
    } | (extra or {})
    return steering.requeue(session, job_id, statuses, values, where)
