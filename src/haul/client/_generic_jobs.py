"""The generic job API, seed 004's (``api.job``): jobs of any registered type.

They are haul's custom job types, driven by name and state.

Seed 004 drives jobs of its own by name and state; in haul such a job is a
custom job type (``docs/job-types.md``), run by a worker's handler or driven
from outside through ``PUT /jobs/{id}/state``. Its states map onto haul's
statuses as below, and a job in a status seed 004 has no name for (PAUSED)
is reported under that status's own lower-case name, as the server does.

============  ===================
seed 004      haul
============  ===================
idle/pending  NEW
running       SUBMITTED, RUNNING
finished      DONE
error         FAILED
cancelled     CANCELLED
============  ===================

``get_job`` clashes with seed 000's ``haul.client.get_job`` (a job by id, in
any status), which keeps the top-level name; seed 004's is reached as
``haul.client.generic_jobs.get_job``. ``delete_job`` is the same call in both
seeds and is shared.
"""

from __future__ import annotations

from typing import Any, cast

from haul.client._context import WORKQUEUE, Context
from haul.client._control import delete_job
from haul.client._exceptions import ClientError, NotFound
from haul.client._types import Job
from haul.protocol.submission_form import SUBMIT_ROUTE, SubmissionBody, with_defaults_left_out

__all__ = [
    "STATES",
    "create_job",
    "delete_job",
    "find_job",
    "get_finished_jobs",
    "get_job",
    "get_job_results",
    "get_job_schema",
    "get_jobs",
    "get_pending_jobs",
    "get_running_jobs",
    "set_job",
    "set_job_finished",
    "set_job_pending",
    "set_job_running",
    "state_of",
    "update_job_result",
]

# Seed 004's state names, as the haul statuses each one covers.
STATES: dict[str, frozenset[str]] = {
    "idle": frozenset({"NEW"}),
    "pending": frozenset({"NEW"}),
    "running": frozenset({"SUBMITTED", "RUNNING"}),
    "finished": frozenset({"DONE"}),
    "error": frozenset({"FAILED"}),
    "cancelled": frozenset({"CANCELLED"}),
}

_PAGE = 1000


def _check_state(state: str) -> str:
    """Seed 004 promises ValueError for a bad state, before anything reaches the server."""
    name = str(state).strip().lower()
    if name not in STATES:
        raise ValueError(f"state {state!r}: expected one of {', '.join(STATES)}")
    return name


def state_of(status: str) -> str:
    """The seed-004 state of a haul status; NEW reads as ``pending``, not ``idle``.

    Mirrors ``GET /jobs/{id}/state`` so a job and its state come from one answer.
    """
    for name, statuses in STATES.items():
        if name != "idle" and status in statuses:
            return name
    return status.lower()


def create_job(
    ctx: Context,
    name: str,
    user: str | int,
    request: Any,
    result: Any = None,
    *,
    version: str | None = None,
    label: str | None = None,
    priority: int | None = None,
    max_tries: int | None = None,
    metadata: dict[str, Any] | None = None,
    submission_id: str | None = None,
) -> Job:
    """A job of the custom type ``name`` for ``user`` (an email or id).

    Only admins may name another user; anyone else gets ``Unauthorized``
    (403). A ``result`` is stored straight away, for an external system that
    records work it has already done; the job stays pending until its state
    is set (or a worker with a handler for the type runs it, and its result
    replaces this one). ``label`` is haul's free-text job name (seed 004's
    ``name`` is the type). Keyword fields left as None take the type's defaults.
    """
    body = SubmissionBody(type=name, user=user, request=request)
    optional = SubmissionBody(
        version=version,
        name=label,
        priority=priority,
        max_tries=max_tries,
        metadata=metadata,
        submission_id=submission_id,
    )
    with_defaults_left_out(body, optional)
    job = cast(Job, ctx.post(WORKQUEUE + SUBMIT_ROUTE, body))
    if result is not None:
        _put_result(ctx, int(job["id"]), result)
    return job


def find_job(ctx: Context, job_id: int) -> tuple[Job, str]:
    """The job and its seed-004 state, both read from one answer so they agree."""
    job = cast(Job, ctx.get(f"{WORKQUEUE}/jobs/{int(job_id)}"))
    return job, state_of(str(job.get("status", "")))


def get_job(ctx: Context, job_id: int, state: str = "pending") -> Job:
    """The job if it is in ``state``; ``NotFound`` if it exists in another state.

    An unknown state raises ``ValueError`` without a call (the server's
    ``GET /jobs/{id}/state?state=`` answers 400 for it too). The check is
    made on the job as read, rather than asking the server about the state
    first, so the job returned is the one that was checked.
    """
    wanted = _check_state(state)
    job, now = find_job(ctx, job_id)
    if str(job.get("status", "")) not in STATES[wanted]:
        # No status_code: the server answered (200); the refusal is this client's.
        raise NotFound(f"job {job_id} is {now}, not {wanted}", detail=f"job {job_id} is {now}")
    return job


def get_jobs(ctx: Context) -> list[Job]:
    """Every job of the caller, newest first: custom jobs and file operations alike."""
    return _all_jobs(ctx, None)


def get_pending_jobs(ctx: Context) -> list[Job]:
    return _all_jobs(ctx, STATES["pending"])


def get_running_jobs(ctx: Context) -> list[Job]:
    """Jobs leased to a worker (SUBMITTED) or reporting progress (RUNNING)."""
    return _all_jobs(ctx, STATES["running"])


def get_finished_jobs(ctx: Context) -> list[Job]:
    """Jobs that ended well (DONE); failed and cancelled ones are not 'finished'."""
    return _all_jobs(ctx, STATES["finished"])


def _all_jobs(ctx: Context, statuses: frozenset[str] | None) -> list[Job]:
    """Page through ``GET /jobs``; a job seen twice (new jobs shift the pages) counts once."""
    seen: set[int] = set()
    out: list[Job] = []
    offset = 0
    while True:
        params: list[tuple[str, Any]] = [("limit", _PAGE), ("offset", offset)]
        params += [("status", s) for s in sorted(statuses or ())]
        resp = ctx.request("GET", f"{WORKQUEUE}/jobs", params=params)
        page = cast(list[Job], resp.json_body() or [])
        for job in page:
            if job["id"] not in seen:
                seen.add(job["id"])
                out.append(job)
        offset += len(page)
        total = int(resp.headers.get("X-Total-Count", offset))
        if not page or offset >= total:
            return out


def set_job(ctx: Context, job_id: int, data: Any, state: str = "pending") -> Job:
    """Moves a custom job to ``state`` from outside a lease, for a system driving its own jobs.

    Allowed to the job's owner and admins; the server refuses a move the state
    machine forbids (a finished job is final) with ``ClientError`` 409. A
    ``data`` that is not None becomes the job's result in the same step, so a
    result and its state are never seen apart. Answers the job as it now is.
    """
    body: dict[str, Any] = {"state": _check_state(state)}
    if data is not None:
        body["data"] = data
    resp = ctx.request("PUT", f"{WORKQUEUE}/jobs/{int(job_id)}/state", json=body)
    return cast(Job, resp.json_body())


def set_job_pending(ctx: Context, job_id: int, data: Any) -> Job:
    """Queues a failed or cancelled job again, with a fresh attempt budget."""
    return set_job(ctx, job_id, data, "pending")


def set_job_running(ctx: Context, job_id: int, data: Any) -> Job:
    return set_job(ctx, job_id, data, "running")


def set_job_finished(ctx: Context, job_id: int, data: Any) -> Job:
    return set_job(ctx, job_id, data, "finished")


def update_job_result(ctx: Context, job_id: int, data: Any) -> None:
    """Stores ``data`` as the result and, as seed 004 says, marks the job finished.

    A job that is already finished only has its result replaced: finishing it
    again is not a move the state machine has, and the caller's intent (this
    is the result of finished work) holds either way. Any other refusal (a
    failed job cannot jump to finished) is raised.
    """
    try:
        set_job(ctx, job_id, data, "finished")
    except ClientError as exc:
        if exc.status_code != 409 or find_job(ctx, job_id)[1] != "finished":
            raise
        _put_result(ctx, job_id, data)


def _put_result(ctx: Context, job_id: int, data: Any) -> dict[str, Any]:
    resp = ctx.request("PUT", f"{WORKQUEUE}/jobs/{int(job_id)}/result", json={"data": data})
    return cast(dict[str, Any], resp.json_body())


def get_job_results(ctx: Context, job_id: int) -> dict[str, Any]:
    """``{jobid, status, result}``; ``NotFound`` while the job has no result."""
    return cast(dict[str, Any], ctx.get(f"{WORKQUEUE}/jobs/{int(job_id)}/result"))


def get_job_schema(ctx: Context) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a submission: one ``oneOf`` variant per job type.

    It is generated from the models the server validates with, so a document
    valid under it is one the server accepts (sites and paths must still exist).
    """
    return cast(dict[str, Any], ctx.get(f"{WORKQUEUE}/jobs/schema"))
