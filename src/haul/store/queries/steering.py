"""The set-based element writes of a cancel, of the hand-made requeues and of
seed 004's ``set_job`` (a custom job's element moved by its owner).

A cancel ends the queued elements of some jobs (or of some of their
elements) at once and tells the leased ones to stop through their next
heartbeat answer; a requeue (retry, reactivate, recover) queues elements
again. Each statement is guarded by the statuses its transition starts from
(``domain.transitions``: ``CANCEL_NOW``, ``CANCEL_SIGNAL``, ``requeued_from``;
for ``set_job`` the statuses the caller read),
so an element that moved on since the caller looked is left alone, and each
returns how many elements it changed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from haul.domain.enums import Command, JobStatus
from haul.domain.transitions import CANCEL_NOW, CANCEL_SIGNAL
from haul.store.clock import utcnow
from haul.store.tables import Element

_NOW = sorted(int(s) for s in CANCEL_NOW)
_SIGNAL = sorted(int(s) for s in CANCEL_SIGNAL)
_QUIET = {"synchronize_session": False}


def status_in(values: list[int]) -> Any:
    """The status guard; one status is an equality, which the (job, status) indexes serve best."""
    return Element.status == values[0] if len(values) == 1 else Element.status.in_(values)


def _scoped(q: Any, job_ids: list[int], ids: list[int] | None) -> Any:
    q = q.where(Element.job_id == job_ids[0] if len(job_ids) == 1 else Element.job_id.in_(job_ids))
    return q if ids is None else q.where(Element.id.in_(ids))


def cancel_queued(session: Session, job_ids: list[int], ids: list[int] | None = None) -> int:
    """Queued elements of the jobs (or only ``ids``) end CANCELLED; returns how many."""
    if not job_ids:
        return 0
    q = _scoped(update(Element).where(status_in(_NOW)), job_ids, ids)
    values = {"status": int(JobStatus.CANCELLED), "timestamp": utcnow()}
    return int(session.execute(q.values(values), execution_options=_QUIET).rowcount)


def signal_running(session: Session, job_ids: list[int], ids: list[int] | None = None) -> int:
    """Leased elements are told to stop (``command: cancel``); returns how many."""
    if not job_ids:
        return 0
    q = _scoped(update(Element).where(status_in(_SIGNAL)), job_ids, ids)
    return int(
        session.execute(q.values(command=Command.CANCEL), execution_options=_QUIET).rowcount
    )


def requeue(
    session: Session,
    job_id: int,
    from_statuses: Collection[JobStatus],
    values: dict[str, Any],
    where: Iterable[Any] = (),
) -> int:
    """The job's elements in ``from_statuses`` (narrowed by ``where``) take ``values``.

    ``values`` are the requeue's (``transitions.requeue``); a requeue from
    every status (reactivate) needs no status guard. Returns how many changed.
    """
    q = update(Element).where(Element.job_id == job_id, *where)
    if len(from_statuses) < len(JobStatus):
        q = q.where(status_in(sorted(int(s) for s in from_statuses)))
    return int(session.execute(q.values(values), execution_options=_QUIET).rowcount)


def move_by_hand(
    session: Session, job_id: int, from_statuses: Collection[JobStatus], values: dict[str, Any]
) -> int:
    """A custom job's elements still in ``from_statuses`` (the statuses the caller read
    and judged the move by) take ``values`` (``transitions.set_by_hand``'s). An element a
    worker's result moved since is not matched; returns how many changed."""
    if not from_statuses:
        return 0
    q = update(Element).where(
        Element.job_id == job_id, status_in(sorted(int(s) for s in from_statuses))
    )
    return int(session.execute(q.values(values), execution_options=_QUIET).rowcount)
