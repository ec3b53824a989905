"""Control verbs: each changes state only where its guard allows it.

Outside its guard a verb raises Conflict naming the job's current status, and
changes nothing. Running elements are never yanked from under a worker: they
are told through their next heartbeat (``command: cancel``) and end CANCELLED
when the worker reports back, or when their lease runs out.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import LEASED, TERMINAL_STATUSES, JobStatus, JobType
from haul.domain.limits import MAX_TRIES, PRIORITY
from haul.domain.options import OptionsError, validate_options
from haul.domain.ownership import may_act_on
from haul.domain.transitions import Requeue
from haul.services.errors import BadRequest, Conflict, NotFound
from haul.services.job_reads import JobView, counts_for
from haul.services.stages import after_element_change
from haul.services.steering import requeue_elements
from haul.store.queries import job_control as queries
from haul.store.queries.job_reads import element, element_count
from haul.store.queries.steering import cancel_queued, signal_running
from haul.store.tables import Element, Job, User

MAX_COMMAND = 250


def load_job(session: Session, user: User, job_id: int, *, admin_any: bool = True) -> JobView:
    """The job, if the caller owns it or is an admin; locked for update on PostgreSQL."""
    job = queries.locked_job(session, job_id)
    if job is None or not may_act_on(job.user_id, user.id, user.role, admins=admin_any):
        raise NotFound(f"job {job_id}: no such job")
    return JobView(job, counts_for(session, [job_id]).get(job_id, {}))


def _refuse(view: JobView, verb: str) -> Conflict:
    return Conflict(f"job {view.job.id} is {view.status.name}; cannot {verb} it")


def cancel(session: Session, user: User, job_id: int) -> JobView:
    view = load_job(session, user, job_id)
    if view.status.terminal:
        raise _refuse(view, "cancel")
    view.job.cancelled = True
    view.job.paused = False
    cancel_queued(session, [job_id])
    signal_running(session, [job_id])
    return settle(session, view.job)


def finish(session: Session, user: User, job_id: int, soft: bool) -> JobView:
    view = load_job(session, user, job_id)
    if view.status.terminal:
        raise _refuse(view, "finish")
    view.job.paused = False
    cancel_queued(session, [job_id])
    if not soft:
        signal_running(session, [job_id])
    # No more expansion: a finished job takes on no new work.
    view.job.expanded = True
    return settle(session, view.job)


def pause(session: Session, user: User, job_id: int) -> JobView:
    view = load_job(session, user, job_id)
    if view.status.terminal or view.job.paused:
        raise _refuse(view, "pause")
    view.job.paused = True
    return settle(session, view.job)


def resume(session: Session, user: User, job_id: int) -> JobView:
    view = load_job(session, user, job_id)
    if not view.job.paused or view.status.terminal:
        raise _refuse(view, "resume")
    view.job.paused = False
    return settle(session, view.job)


def retry(session: Session, user: User, job_id: int, new_params: dict[str, Any] | None) -> JobView:
    view = load_job(session, user, job_id)
    if view.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        raise _refuse(view, "retry")
    job = view.job
    params = dict(new_params or {})
    unknown = sorted(set(params) - {"priority", "max_tries", "extra_opts"})
    if unknown:
        raise BadRequest(
            f"new_params.{unknown[0]}: cannot be changed on retry "
            "(priority, max_tries, extra_opts can)"
        )
    if "priority" in params:
        p = params["priority"]
        if not isinstance(p, int) or isinstance(p, bool) or not PRIORITY.holds(p):
            raise BadRequest(
                "new_params.priority: must be an integer between "
                f"{PRIORITY.low} and {PRIORITY.high}"
            )
        job.priority = p
    if "max_tries" in params:
        m = params["max_tries"]
        if not isinstance(m, int) or isinstance(m, bool) or not MAX_TRIES.holds(m):
            raise BadRequest(
                f"new_params.max_tries: must be between {MAX_TRIES.low} and {MAX_TRIES.high}"
            )
        job.max_tries = m
    if "extra_opts" in params and job.type_name is None:
        try:
            merged = validate_options(
                JobType(job.type), {**job.extra_opts, **(params["extra_opts"] or {})}
            )
        except OptionsError as exc:
            raise BadRequest(f"new_params.{exc}") from exc
        job.extra_opts = merged
    job.cancelled = False
    job.paused = False
    job.ended = None
    fresh = {"priority": job.priority, "max_tries": job.max_tries}
    if _never_expanded(session, job):
        # Cancelled before its LIST could be expanded: list again (whatever
        # the LIST's state), then expand.
        job.expanded = False
        requeue_elements(session, job_id, Requeue.REACTIVATE, where=(Element.id == 0,), extra=fresh)
    requeue_elements(session, job_id, Requeue.RETRY, extra=fresh)
    return settle(session, job)


def _never_expanded(session: Session, job: Job) -> bool:
    if job.type_name is not None or job.type not in (
        int(JobType.COPY),
        int(JobType.REMOVE),
        int(JobType.RENAME),
    ):
        return False
    return element_count(session, job.id) == 1


def reactivate(session: Session, user: User, job_id: int) -> JobView:
    view = load_job(session, user, job_id)
    if not view.status.terminal:
        raise _refuse(view, "reactivate")
    job = view.job
    job.cancelled = False
    job.paused = False
    job.ended = None
    job.stage = 0
    requeue_elements(session, job_id, Requeue.REACTIVATE)
    return settle(session, job)


def remove_job(session: Session, user: User, job_id: int) -> None:
    view = load_job(session, user, job_id)
    if not view.status.terminal:
        raise _refuse(view, "delete")
    queries.remove_job(session, job_id)


def kill_elements(session: Session, user: User, job_id: int, ids: list[int]) -> dict[str, Any]:
    view = load_job(session, user, job_id)
    if not ids:
        raise BadRequest("ids: list the element ids to cancel")
    found = queries.existing_ids(session, job_id, ids)
    missing = sorted(set(ids) - found)
    if missing:
        raise NotFound(f"job {job_id} has no element {missing[0]}")
    queued = cancel_queued(session, [job_id], ids)
    running = signal_running(session, [job_id], ids)
    settle(session, view.job)
    return {"jobid": job_id, "cancelled": queued, "signalled": running}


def command(session: Session, user: User, job_id: int, element_id: int, text: str) -> None:
    load_job(session, user, job_id)
    if len(text) > MAX_COMMAND:
        raise BadRequest(f"command: at most {MAX_COMMAND} characters")
    if not text.strip():
        raise BadRequest("command: must not be empty")
    row = element(session, job_id, element_id)
    if row is None:
        raise NotFound(f"job {job_id} has no element {element_id}")
    if row.status not in LEASED:
        raise Conflict(
            f"element {job_id}.{element_id} is {JobStatus(row.status).name}; "
            "commands reach only leased elements"
        )
    row.command = text


def settle(session: Session, job: Job) -> JobView:
    """After a verb's writes: advance the job's stage, and answer its view."""
    session.flush()
    after_element_change(session, job)
    session.flush()
    return JobView(job, counts_for(session, [job.id]).get(job.id, {}))


def terminal(status: JobStatus) -> bool:
    return status in TERMINAL_STATUSES
