"""Seed 004's job API under its own names, ``get_job`` included.

    from haul.client import Context, seed004

    job = seed004.create_job(ctx, "checksum", "me@example.org", {"path": "/data/a"})
    job, state = seed004.find_job(ctx, job["id"])
    seed004.get_job(ctx, job["id"], state="finished")   # NotFound unless finished

``haul.client`` exports every one of these names too, except ``get_job``:
there it is seed 000's (a job by id, whatever its status), which existing
code relies on. This module is where seed 004's state-checking ``get_job``
lives. See ``haul.client._seed004`` for the state mapping.
"""

from haul.client._seed004 import (
    STATES,
    create_job,
    delete_job,
    find_job,
    get_finished_jobs,
    get_job,
    get_job_results,
    get_job_schema,
    get_jobs,
    get_pending_jobs,
    get_running_jobs,
    set_job,
    set_job_finished,
    set_job_pending,
    set_job_running,
    state_of,
    update_job_result,
)

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
