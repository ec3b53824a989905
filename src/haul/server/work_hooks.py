"""What the worker routes do after their service call: count it, record the worker.

A claim, heartbeats or results the service accepted are counted for
Prometheus (``metrics.py``, this process's counters) and recorded as the
worker's activity in the database (``services/worker_bookkeeping.py``, in a
savepoint). Only accepted items count: a batch answer's item with an outcome
other than ACCEPTED was refused and leaves no trace.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from haul.domain.enums import JobStatus
from haul.protocol.items import Outcome
from haul.server import metrics
from haul.services import worker_activity
from haul.services.reports import Heartbeat, Result
from haul.services.worker_activity import Progress
from haul.services.worker_bookkeeping import record
from haul.store.tables import User


def claimed(
    request: Request,
    session: Session,
    worker: User,
    types: Iterable[Any] | None,
    protocols: Iterable[Any] | None,
    jobs: list[dict[str, Any]],
) -> None:
    elements = [e for job in jobs for e in job.get("elements", [])]
    metrics.count_claimed(request, elements)
    n, wid = len(elements), worker.id
    record(session, "claim", lambda: worker_activity.claimed(session, wid, types, protocols, n))


def heartbeats(
    request: Request, session: Session, worker: User, beats: list[Heartbeat], replies: Any
) -> None:
    """``replies`` is the service's answer: one dict, or a list with a code per item."""
    answers = replies if isinstance(replies, list) else [replies | {"code": Outcome.ACCEPTED}]
    accepted = [
        Progress(b.job_id, b.element_id, b.transferred)
        for b, a in zip(beats, answers, strict=False)
        if a.get("code") == Outcome.ACCEPTED
    ]
    metrics.count_heartbeats(request, len(accepted))
    if accepted:
        wid = worker.id
        record(session, "heartbeat", lambda: worker_activity.heartbeats(session, wid, accepted))


def results(
    request: Request,
    session: Session,
    worker: User,
    sent: list[Result],
    answers: Any,
    facts: dict[tuple[int, int], Any] | None = None,
    job_facts: dict[int, Any] | None = None,
) -> None:
    """``answers``: a JobStatus for one result, or the bulk route's list of dicts.

    ``facts``: element rows the service already read (type, started), if any;
    ``job_facts``: their jobs' rows (id, src_siteid, dst_siteid), if read.
    """
    if isinstance(answers, list):
        outcomes = [a.get("status") if a.get("code") == Outcome.ACCEPTED else None for a in answers]
    else:
        outcomes = [JobStatus(answers).name]
    accepted = [(r, o) for r, o in zip(sent, outcomes, strict=False) if o is not None]
    if not accepted:
        return
    metrics.count_results(request, session, accepted, facts, job_facts)
    progress = [Progress(r.job_id, r.element_id, r.bytes) for r, _ in accepted]
    host = next((r.host for r, _ in accepted if r.host), "")
    record(
        session, "result", lambda: worker_activity.results(session, worker.id, progress, host=host)
    )
