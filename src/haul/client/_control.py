"""Steering jobs (seed 002's task control). Each verb answers the job as it now stands.

A verb the job's state does not allow raises `ClientError` (HTTP 409) whose
detail names the current status, and changes nothing.
"""

from __future__ import annotations

import time
from typing import Any, cast

from haul.client._context import WORKQUEUE, Context
from haul.client._types import Job

__all__ = [
    "cancel",
    "delete_job",
    "finish_task",
    "kill_jobs",
    "kill_task",
    "pause_task",
    "reactivate_task",
    "resume_task",
    "retry_task",
    "send_command_to_job",
    "send_file_recovery_request",
]


def _verb(ctx: Context, job_id: int, verb: str, body: Any = None) -> Job:
    return cast(Job, ctx.post(f"{WORKQUEUE}/jobs/{job_id}/{verb}", body))


def cancel(ctx: Context, job_id: int) -> Job:
    """Cancels queued elements now; running ones stop at their worker's next heartbeat."""
    return _verb(ctx, job_id, "cancel")


def kill_task(ctx: Context, job_id: int) -> Job:
    """Seed 002's killTask, the same as `cancel`, under the name PanDA users know."""
    return _verb(ctx, job_id, "kill")


def finish_task(ctx: Context, job_id: int, soft: bool = False) -> Job:
    """Takes no new work; ``soft`` lets running elements complete, hard cancels them too."""
    return _verb(ctx, job_id, "finish", {"soft": soft})


def retry_task(ctx: Context, job_id: int, new_params: dict[str, Any] | None = None) -> Job:
    """Re-queues FAILED and CANCELLED elements with a fresh attempt budget.

    ``new_params`` may change ``priority``, ``max_tries`` and ``extra_opts``.
    """
    return _verb(ctx, job_id, "retry", {"new_params": new_params})


def pause_task(ctx: Context, job_id: int) -> Job:
    """Stops handing out new leases; elements already running finish."""
    return _verb(ctx, job_id, "pause")


def resume_task(ctx: Context, job_id: int) -> Job:
    return _verb(ctx, job_id, "resume")


def reactivate_task(ctx: Context, job_id: int) -> Job:
    """Admin only: runs a finished job again from scratch (every element back to NEW)."""
    return _verb(ctx, job_id, "reactivate")


def delete_job(ctx: Context, job_id: int) -> dict[str, Any]:
    """Removes a finished job with its elements, attempts and logs."""
    return cast(dict[str, Any], ctx.delete(f"{WORKQUEUE}/jobs/{job_id}"))


def kill_jobs(ctx: Context, job_id: int, ids: list[int]) -> dict[str, Any]:
    """Cancels some elements of a job (seed 002's killJobs, where PanDA jobs are elements)."""
    body = {"ids": [int(i) for i in ids]}
    return cast(dict[str, Any], ctx.post(f"{WORKQUEUE}/jobs/{job_id}/elements/cancel", body))


def send_command_to_job(ctx: Context, job_id: int, element_id: int, command: str) -> dict[str, Any]:
    """Admin only: a string (at most 250 characters) for the worker running an element.

    The worker gets it in its next heartbeat reply, so the element must be leased.
    """
    path = f"{WORKQUEUE}/jobs/{job_id}/elements/{element_id}/command"
    return cast(dict[str, Any], ctx.post(path, {"command": command}))


def send_file_recovery_request(
    ctx: Context, job_id: int, dry_run: bool = False, timeout: float = 600.0
) -> dict[str, Any]:
    """Checks a finished COPY job's destinations and re-queues files that differ.

    Only workers can look at storage, so the checks run as queued work. A
    ``dry_run`` waits for them (up to ``timeout`` seconds) and returns the
    report with the ``differing`` files; otherwise the files that differ are
    copied again, and the returned report is the request's acknowledgement
    (follow the job with ``wait``).
    """
    report = cast(
        dict[str, Any], ctx.post(f"{WORKQUEUE}/jobs/{job_id}/recover", {"dry_run": dry_run})
    )
    if not dry_run:
        return report
    deadline = time.monotonic() + timeout
    while report.get("state") != "done":
        if time.monotonic() >= deadline:
            raise TimeoutError(f"job {job_id}: recover check not finished after {timeout} s")
        time.sleep(0.5)
        report = cast(dict[str, Any], ctx.get(f"{WORKQUEUE}/jobs/{job_id}/recover"))
    return report
