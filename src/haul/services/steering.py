"""The set-based element writes of control verbs, bans and recover.

Each applies one ``domain.transitions`` rule to the elements whose statuses
the rule selects: a cancel (queued ones end at once, leased ones are told to
stop through their next heartbeat answer) and the hand-made requeues (retry,
reactivate, recover). Control and bans cancel through the same function, so
the two can never disagree on what a cancel does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from haul.domain.enums import Command, JobStatus
from haul.domain.transitions import (
    CANCEL_NOW,
    CANCEL_SIGNAL,
    Requeue,
    requeue,
    requeued_from,
)
from haul.store.clock import utcnow
from haul.store.tables import Element

_NOW = sorted(int(s) for s in CANCEL_NOW)
_SIGNAL = sorted(int(s) for s in CANCEL_SIGNAL)
_QUIET = {"synchronize_session": False}


def _status_in(values: list[int]) -> Any:
    # One status is an equality, which the (job, status) indexes serve best.
    return Element.status == values[0] if len(values) == 1 else Element.status.in_(values)


def _scoped(q: Any, job_ids: list[int], ids: list[int] | None) -> Any:
    q = q.where(Element.job_id == job_ids[0] if len(job_ids) == 1 else Element.job_id.in_(job_ids))
    return q if ids is None else q.where(Element.id.in_(ids))


def cancel_queued(session: Session, job_ids: list[int], ids: list[int] | None = None) -> int:
    """Queued elements of the jobs (or only ``ids``) end CANCELLED; returns how many."""
    if not job_ids:
        return 0
    q = _scoped(update(Element).where(_status_in(_NOW)), job_ids, ids)
    values = {"status": int(JobStatus.CANCELLED), "timestamp": utcnow()}
    return session.execute(q.values(values), execution_options=_QUIET).rowcount


def signal_running(session: Session, job_ids: list[int], ids: list[int] | None = None) -> int:
    """Leased elements are told to stop (``command: cancel``); returns how many."""
    if not job_ids:
        return 0
    q = _scoped(update(Element).where(_status_in(_SIGNAL)), job_ids, ids)
    return session.execute(
        q.values(command=Command.CANCEL), execution_options=_QUIET
    ).rowcount


def requeue_elements(
    session: Session,
    job_id: int,
    event: Requeue,
    *,
    where: tuple[Any, ...] = (),
    extra: dict[str, Any] | None = None,
) -> int:
    """The job's elements the event applies to (narrowed by ``where``) are queued again."""
    statuses = sorted(int(s) for s in requeued_from(event))
    values = {
        k: int(v) if isinstance(v, JobStatus) else v
        for k, v in (requeue(event, JobStatus(statuses[0])) or {}).items()
    } | (extra or {})
    q = update(Element).where(Element.job_id == job_id, *where)
    if len(statuses) < len(JobStatus):
        q = q.where(_status_in(statuses))
    return session.execute(q.values(values), execution_options=_QUIET).rowcount
