"""The generic job API (seed 004's): the job schema, and state set from outside a lease.

``/jobs/schema`` is never read as a job id, whatever the routers' order:
``GET /jobs/{job_id}`` does not take the name (haul/server/path_ids.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from haul.protocol.submissions import schema
from haul.server.deps import CurrentUser, ReadSession, WriteSession
from haul.server.threaded import in_thread
from haul.server.views import job_json
from haul.services import custom_jobs, job_reads
from haul.services.errors import BadRequest, NotFound
from haul.services.job_types import list_types

router = APIRouter()


class StateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: str
    data: Any = None


class ResultBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: Any = None


@router.get("/jobs/schema")
@in_thread
def job_schema(user: CurrentUser, session: ReadSession) -> dict[str, Any]:
    """JSON Schema of a submission for every job type the server knows."""
    # Only types a submission can name: an inactive version is refused (409).
    versions: dict[str, list[str]] = {}
    for t in list_types(session):
        if not t.builtin and t.is_active:
            versions.setdefault(t.name, []).append(t.version)
    return schema(versions)


@router.put("/jobs/{job_id}/state")
def set_state(
    job_id: int, body: StateBody, user: CurrentUser, session: WriteSession
) -> dict[str, Any]:
    """Seed 004's set_job: idle/pending, running, finished, error (custom types only)."""
    custom_jobs.set_state(
        session, user, job_id, body.state, body.data, has_data="data" in body.model_fields_set
    )
    return job_json(job_reads.get_job(session, user, job_id, files=True))


@router.put("/jobs/{job_id}/result")
def update_result(
    job_id: int, body: ResultBody, user: CurrentUser, session: WriteSession
) -> dict[str, Any]:
    custom_jobs.update_result(session, user, job_id, body.data)
    return {"jobid": job_id, "result": body.data}


@router.get("/jobs/{job_id}/state")
@in_thread
def get_state(
    job_id: int,
    user: CurrentUser,
    session: ReadSession,
    state: Annotated[
        str | None, Query(description="seed 004's get_job: 404 unless the job is in this state")
    ] = None,
) -> dict[str, Any]:
    """A job's status and its seed-004 state name; with ``state``, only if it is in that state.

    An unknown ``state`` is a 400, as seed 004's getJob raises on one.
    """
    wanted = state.strip().lower() if state is not None else None
    if wanted is not None and wanted not in custom_jobs.GENERIC_STATES:
        raise BadRequest(f"state: expected one of {', '.join(custom_jobs.GENERIC_STATES)}")
    view = job_reads.get_job(session, user, job_id)
    now = next(
        (k for k, v in custom_jobs.GENERIC_STATES.items() if view.status in v and k != "idle"),
        view.status.name.lower(),
    )
    if wanted is not None and view.status not in custom_jobs.GENERIC_STATES[wanted]:
        raise NotFound(f"job {job_id} is {now}, not {wanted}")
    return {"jobid": job_id, "status": view.status.name, "state": now}
