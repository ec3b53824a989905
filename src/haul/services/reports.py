"""What workers report: heartbeats (progress, commands) and attempt results.

A report must carry the element's current lease token; anything else is a
stale lease and is refused with 409, changing nothing. That is what makes a
worker that was presumed dead harmless when it comes back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haul.domain.backoff import backoff_seconds
from haul.domain.enums import TERMINAL_STATUSES, JobStatus, JobType
from haul.domain.errors import ErrorCode, ErrorScope
from haul.domain.logs import cap_log
from haul.services.errors import BadRequest, Conflict, NotFound
from haul.services.expansion import expand
from haul.services.listings import store_listing
from haul.store.clock import utcnow
from haul.store.tables import Attempt, Element, Job

LEASED = (int(JobStatus.SUBMITTED), int(JobStatus.RUNNING))


@dataclass
class Heartbeat:
    job_id: int
    element_id: int
    token: str
    transferred: int = 0
    elapsed: float = 0.0
    instant: float = 0.0
    average: float = 0.0


@dataclass
class Result:
    job_id: int
    element_id: int
    token: str
    returncode: int
    host: str = ""
    log: str = ""
    timestamp: str | None = None
    listing: Any = None
    error: dict[str, Any] | None = None
    checksum: str | None = None
    bytes: int | None = None
    size: int | None = None


@dataclass
class Policy:
    lease_seconds: int = 120
    backoff_base: float = 2.0
    backoff_cap: float = 600.0
    rng: random.Random = field(default_factory=random.Random)


def _leased(session: Session, job_id: int, element_id: int, token: str) -> Element:
    element = session.get(Element, (job_id, element_id))
    if element is None:
        raise NotFound(f"job {job_id} has no element {element_id}")
    if element.lease_token != token or element.status not in LEASED:
        raise Conflict(
            f"element {job_id}.{element_id}: lease is not current (status "
            f"{JobStatus(element.status).name}); the report was ignored"
        )
    return element


def heartbeat(session: Session, hb: Heartbeat, policy: Policy) -> dict[str, Any]:
    element = _leased(session, hb.job_id, hb.element_id, hb.token)
    job = session.get(Job, hb.job_id)
    now = utcnow()
    element.status = int(JobStatus.RUNNING)
    element.lease_expires = now + timedelta(seconds=policy.lease_seconds)
    element.progress = {
        "transferred": hb.transferred,
        "elapsed": hb.elapsed,
        "instant": hb.instant,
        "average": hb.average,
        "time": now.isoformat(),
    }
    command = element.command
    if command and command != "cancel":
        element.command = None  # a user's command is delivered once
    if job is not None and job.cancelled:
        command = "cancel"
    return {
        "jobid": hb.job_id,
        "elementid": hb.element_id,
        "command": command,
        "lease_expires": element.lease_expires.isoformat(),
    }


def _error_dict(err: Any) -> dict[str, Any]:
    if err is None:
        return {
            "code": ErrorCode.INTERNAL.value,
            "scope": ErrorScope.TRANSFER.value,
            "retryable": True,
            "message": "the worker reported a failure without details",
        }
    if not isinstance(err, dict):
        raise BadRequest("error: must be an object {code, scope, retryable, message}")
    code = str(err.get("code") or ErrorCode.INTERNAL.value).upper()
    scope = str(err.get("scope") or ErrorScope.TRANSFER.value).upper()
    if scope not in ErrorScope.__members__:
        raise BadRequest("error.scope: expected SOURCE, DESTINATION or TRANSFER")
    retryable = err.get("retryable", True)
    if not isinstance(retryable, bool):
        raise BadRequest("error.retryable: must be a boolean")
    return {
        "code": code,
        "scope": scope,
        "retryable": retryable,
        "message": str(err.get("message") or "")[:4000],
    }


def record_result(session: Session, r: Result, policy: Policy) -> JobStatus:
    job, status = _apply_result(session, r, policy)
    after_element_change(session, job)
    return status


def record_results(session: Session, results: list[Result], policy: Policy) -> list[dict[str, Any]]:
    """Many results in one transaction; each item succeeds or fails on its own.

    A refused item has changed nothing (every check runs before any write), so
    no savepoints are needed; job bookkeeping runs once per job, not per item.
    """
    out: list[dict[str, Any]] = []
    jobs: dict[int, Job] = {}
    for r in results:
        try:
            job, status = _apply_result(session, r, policy)
        except (Conflict, NotFound, BadRequest) as exc:
            out.append(
                {
                    "jobid": r.job_id,
                    "elementid": r.element_id,
                    "code": exc.status,
                    "detail": exc.detail,
                }
            )
            continue
        jobs[job.id] = job
        out.append(
            {"jobid": r.job_id, "elementid": r.element_id, "code": 200, "status": status.name}
        )
    for job in jobs.values():
        after_element_change(session, job)
    return out


def heartbeats(session: Session, beats: list[Heartbeat], policy: Policy) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for hb in beats:
        try:
            out.append(heartbeat(session, hb, policy) | {"code": 200})
        except (Conflict, NotFound) as exc:
            out.append(
                {
                    "jobid": hb.job_id,
                    "elementid": hb.element_id,
                    "code": exc.status,
                    "detail": exc.detail,
                }
            )
    return out


def _apply_result(session: Session, r: Result, policy: Policy) -> tuple[Job, JobStatus]:
    element = _leased(session, r.job_id, r.element_id, r.token)
    job = session.get(Job, r.job_id)
    assert job is not None
    if r.returncode == 0 and element.type == JobType.LIST and r.listing is None:
        raise BadRequest("listing: a successful LIST result needs its listing")
    now = utcnow()
    tries = element.attempts + 1
    number = element.attempt_seq + 1
    error = None if r.returncode == 0 else _error_dict(r.error)
    if r.returncode == 0:
        status = JobStatus.DONE
    elif (
        job.cancelled
        or element.command == "cancel"
        or (error and error["code"] == ErrorCode.CANCELLED.value)
    ):
        status = JobStatus.CANCELLED
    elif error and error["retryable"] and tries < element.max_tries:
        status = JobStatus.NEW
    else:
        status = JobStatus.FAILED
    session.add(
        Attempt(
            job_id=r.job_id,
            element_id=r.element_id,
            attempt=number,
            status=int(status if status != JobStatus.NEW else JobStatus.FAILED),
            returncode=r.returncode,
            host=r.host[:255],
            log=cap_log(r.log or ""),
            error=error,
            bytes=r.bytes,
            checksum=r.checksum,
            started=element.started,
            ended=now,
        )
    )
    element.attempts = tries
    element.attempt_seq = number
    element.status = int(status)
    element.lease_token = None
    element.lease_expires = None
    element.timestamp = now
    if r.checksum:
        element.checksum = r.checksum[:200]
    if r.size is not None and r.size >= 0:
        element.size = r.size
    if status == JobStatus.NEW:
        delay = backoff_seconds(tries, policy.backoff_base, policy.backoff_cap, policy.rng)
        element.not_before = now + timedelta(seconds=delay)
    session.flush()
    if status == JobStatus.DONE and element.type == JobType.LIST:
        store_listing(session, r.job_id, r.element_id, number, r.listing)
        if element.id == 0:
            expand(session, job, element, number)
    return job, status


def lose_expired(session: Session, policy: Policy, limit: int = 1000) -> int:
    """Leases that expired without a result become failed attempts coded LOST."""
    now = utcnow()
    rows = list(
        session.scalars(
            select(Element)
            .where(Element.status.in_(LEASED), Element.lease_expires < now)
            .limit(limit)
        )
    )
    jobs: dict[int, Job] = {}
    for element in rows:
        tries = element.attempts + 1
        number = element.attempt_seq + 1
        retry = tries < element.max_tries
        job = jobs.get(element.job_id) or session.get(Job, element.job_id)
        assert job is not None
        jobs[job.id] = job
        final = (
            JobStatus.CANCELLED
            if job.cancelled or element.command == "cancel"
            else (JobStatus.NEW if retry else JobStatus.FAILED)
        )
        session.add(
            Attempt(
                job_id=element.job_id,
                element_id=element.id,
                attempt=number,
                status=int(JobStatus.FAILED),
                returncode=None,
                host="",
                log="lease expired without a result from the worker",
                error={
                    "code": ErrorCode.LOST.value,
                    "scope": ErrorScope.TRANSFER.value,
                    "retryable": True,
                    "message": "the worker holding the lease stopped reporting",
                },
                started=element.started,
                ended=now,
            )
        )
        element.attempts = tries
        element.attempt_seq = number
        element.status = int(final)
        element.lease_token = None
        element.lease_expires = None
        element.timestamp = now
        if final == JobStatus.NEW:
            delay = backoff_seconds(tries, policy.backoff_base, policy.backoff_cap, policy.rng)
            element.not_before = now + timedelta(seconds=delay)
    session.flush()
    for job in jobs.values():
        after_element_change(session, job)
    return len(rows)


def after_element_change(session: Session, job: Job) -> None:
    """Advances the job's stage when the current one has drained; stamps its end."""
    active = session.execute(
        select(Element.stage, func.count())
        .where(Element.job_id == job.id, Element.status.not_in([int(s) for s in TERMINAL_STATUSES]))
        .group_by(Element.stage)
    ).all()
    if not active:
        if job.ended is None:
            job.ended = utcnow()
        return
    job.ended = None
    stages = sorted(stage for stage, _ in active)
    if job.stage not in stages and stages[0] > job.stage:
        job.stage = stages[0]
