"""Custom jobs: one element of a registered job type, run by a worker's handler.

Also the external state setting of seed 004: a system that drives its own
jobs may move them through the state machine from outside a lease, if it is
an admin or the job's owner, and only for custom types.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import CUSTOM_BASE, JobProtocol, JobStatus, Role
from haul.domain.paths import PathError, refuse_bidi
from haul.domain.transitions import set_by_hand
from haul.services.control import load_job, settle
from haul.services.errors import BadRequest, Conflict, Forbidden, NotFound
from haul.services.job_types import get_type
from haul.services.jobs import find_submission
from haul.services.users import find_user
from haul.store.clock import utcnow
from haul.store.queries.steering import move_by_hand
from haul.store.tables import Element, Job, User

MAX_REQUEST_BYTES = 256 * 1024

# The generic job API's states (seed 004's words), as haul's statuses (docs/job-types.md).
GENERIC_STATES: dict[str, list[JobStatus]] = {
    "idle": [JobStatus.NEW],
    "pending": [JobStatus.NEW],
    "running": [JobStatus.SUBMITTED, JobStatus.RUNNING],
    "finished": [JobStatus.DONE],
    "error": [JobStatus.FAILED],
    "cancelled": [JobStatus.CANCELLED],
}

# Allowed external transitions: (from status) -> states it may be set to.
ALLOWED: dict[JobStatus, set[str]] = {
    JobStatus.NEW: {"running", "finished", "error", "cancelled", "pending", "idle"},
    JobStatus.SUBMITTED: {"running", "finished", "error", "cancelled"},
    JobStatus.RUNNING: {"running", "finished", "error", "cancelled"},
    JobStatus.FAILED: {"pending", "idle"},
    JobStatus.CANCELLED: {"pending", "idle"},
    JobStatus.DONE: set(),
}


def _acting_owner(session: Session, caller: User, named: str | int | None) -> User:
    """Whom a custom job is created for: the caller, or (admins only) the user it names."""
    if named is None:
        return caller
    try:
        owner = find_user(session, named)
    except NotFound as exc:
        raise BadRequest(f"user: {exc.detail}") from exc
    if owner.id != caller.id and caller.role != Role.ADMIN:
        raise Forbidden("user: only admins create jobs on behalf of other users")
    return owner


def submit_custom(
    session: Session,
    caller: User,
    type_name: str,
    *,
    on_behalf_of: str | int | None = None,
    version: str | None,
    name: str | None,
    request: Any,
    priority: int | None,
    max_tries: int | None,
    metadata: dict[str, Any] | None,
    submission_id: str | None,
    params: dict[str, Any],
) -> tuple[Job, bool]:
    """Creates a custom job and its element for the caller, or for the user an admin
    names; returns (job, created), as ``jobs.submit`` does."""
    user = _acting_owner(session, caller, on_behalf_of)
    existing = find_submission(session, user, submission_id)
    if existing is not None:
        return existing, False
    if name is not None:
        try:
            refuse_bidi(name, "name")
        except PathError as exc:
            raise BadRequest(str(exc)) from exc
    try:
        row = get_type(session, type_name, version)
    except NotFound as exc:
        raise BadRequest(f"type: {exc.detail}") from exc
    if row.builtin:
        raise BadRequest(f"type: {row.name} is a file operation; use its own fields")
    if not row.is_active:
        raise Conflict(f"job type {row.name} version {row.version} is not active")
    import json

    if len(json.dumps(request)) > MAX_REQUEST_BYTES:
        raise BadRequest(f"request: larger than {MAX_REQUEST_BYTES} bytes of JSON")
    # Given values were checked with the body (protocol/submission_body.py), the type's own
    # when it was registered (job_types.py).
    prio = row.priority if priority is None else priority
    tries = row.max_tries if max_tries is None else max_tries
    element_type = CUSTOM_BASE + row.id
    job = Job(
        user_id=user.id,
        type=element_type,
        type_name=row.name,
        extra_opts={"version": row.version},
        priority=prio,
        protocol=int(JobProtocol.DUMMY),
        max_tries=tries,
        log_uid=secrets.token_hex(16),
        submission_id=submission_id,
        meta=metadata,
        params=params,
        name=name,
        request=request,
        expanded=True,
    )
    session.add(job)
    session.flush()
    session.add(
        Element(
            job_id=job.id,
            id=0,
            user_id=user.id,
            type=element_type,
            status=int(JobStatus.NEW),
            priority=prio,
            max_tries=tries,
        )
    )
    session.flush()
    return job, True


def set_state(
    session: Session,
    user: User,
    job_id: int,
    state: str,
    data: Any = None,
    *,
    has_data: bool = False,
) -> None:
    """Seed 004's set_job: moves a custom job's element by hand, guarded.

    The move is judged by the status read here, and written only to elements
    still in the statuses read: a result that lands in between makes it a 409
    (the transaction rolls back) instead of overwriting what the worker wrote.
    """
    view = load_job(session, user, job_id)
    job = view.job
    if job.type_name is None:
        raise Conflict(f"job {job_id} is a file operation; only custom jobs are set by hand")
    state = state.lower()
    if state not in GENERIC_STATES:
        raise BadRequest(f"state: expected one of {', '.join(GENERIC_STATES)}")
    if state not in ALLOWED.get(view.status, set()) and not (
        state == "running" and view.status == JobStatus.RUNNING
    ):
        raise Conflict(f"job {job_id} is {view.status.name}; cannot set it {state}")
    target = GENERIC_STATES[state][-1]
    values = set_by_hand(target) | {"status": int(target), "timestamp": utcnow()}
    if target == JobStatus.NEW:
        job.cancelled = False
    read = {status for status, n in view.counts.items() if n}
    expected = sum(view.counts.values())
    if move_by_hand(session, job_id, read, values) != expected:
        raise Conflict(f"job {job_id} changed meanwhile; read it again before setting it {state}")
    if has_data:
        job.result = {**(job.result or {}), "data": data}
    settle(session, job)


def update_result(session: Session, user: User, job_id: int, data: Any) -> None:
    job = load_job(session, user, job_id).job
    if job.type_name is None:
        raise Conflict(f"job {job_id} is a file operation; it has no custom result")
    job.result = {**(job.result or {}), "data": data}
