"""Control verbs (seed 002's task control) under /workqueue/api/v1.0."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from haul.domain import limits
from haul.server.deps import AdminUser, CurrentUser, ReadSession, WriteSession
from haul.server.threaded import in_thread
from haul.server.views import element_json, job_json
from haul.server.work_signal import work_added
from haul.services import control, job_reads, recover
from haul.services.errors import NotFound
from haul.services.job_errors import last_errors

router = APIRouter()


class FinishBody(BaseModel):
    soft: bool = False


class RetryBody(BaseModel):
    new_params: dict[str, Any] | None = None


class KillBody(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=100_000)


class CommandBody(BaseModel):
    command: str = Field(max_length=control.MAX_COMMAND)


class RecoverBody(BaseModel):
    dry_run: bool = False


class StatusesBody(BaseModel):
    ids: list[int] = Field(max_length=10_000)
    list_files: bool = False
    # With list_files: which of each job's elements (see domain.limits).
    limit: int = Field(default=limits.STATUS_FILES.default, ge=1, le=limits.STATUS_FILES.maximum)
    offset: int = Field(default=0, ge=0, le=limits.MAX_OFFSET)


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: int, user: CurrentUser, session: WriteSession) -> dict[str, Any]:
    return job_json(control.cancel(session, user, job_id))


@router.post("/jobs/{job_id}/kill")
def kill_job(job_id: int, user: CurrentUser, session: WriteSession) -> dict[str, Any]:
    """PanDA's killTask: the same as cancel."""
    return job_json(control.cancel(session, user, job_id))


@router.post("/jobs/{job_id}/finish")
def finish_job(
    job_id: int, user: CurrentUser, session: WriteSession, body: FinishBody | None = None
) -> dict[str, Any]:
    return job_json(control.finish(session, user, job_id, (body or FinishBody()).soft))


@router.post("/jobs/{job_id}/retry")
def retry_job(
    request: Request,
    job_id: int,
    user: CurrentUser,
    session: WriteSession,
    body: RetryBody | None = None,
) -> dict[str, Any]:
    work_added(request)
    return job_json(control.retry(session, user, job_id, (body or RetryBody()).new_params))


@router.post("/jobs/{job_id}/pause")
def pause_job(job_id: int, user: CurrentUser, session: WriteSession) -> dict[str, Any]:
    return job_json(control.pause(session, user, job_id))


@router.post("/jobs/{job_id}/resume")
def resume_job(
    request: Request, job_id: int, user: CurrentUser, session: WriteSession
) -> dict[str, Any]:
    work_added(request)
    return job_json(control.resume(session, user, job_id))


@router.post("/jobs/{job_id}/reactivate")
def reactivate_job(
    request: Request, job_id: int, user: AdminUser, session: WriteSession
) -> dict[str, Any]:
    work_added(request)
    return job_json(control.reactivate(session, user, job_id))


@router.delete("/jobs/{job_id}")
def delete_job(job_id: int, user: CurrentUser, session: WriteSession) -> dict[str, Any]:
    control.remove_job(session, user, job_id)
    return {"jobid": job_id, "deleted": True}


@router.post("/jobs/{job_id}/elements/cancel")
def kill_elements(
    job_id: int, body: KillBody, user: CurrentUser, session: WriteSession
) -> dict[str, Any]:
    return control.kill_elements(session, user, job_id, body.ids)


@router.post("/jobs/{job_id}/elements/{element_id}/command")
def command_element(
    job_id: int, element_id: int, body: CommandBody, user: AdminUser, session: WriteSession
) -> dict[str, Any]:
    control.command(session, user, job_id, element_id, body.command)
    return {"jobid": job_id, "elementid": element_id, "command": body.command, "queued": True}


@router.get("/jobs/{job_id}/params")
def job_params(job_id: int, user: CurrentUser, session: ReadSession) -> dict[str, Any]:
    view = job_reads.get_job(session, user, job_id)
    return {"jobid": job_id, "params": view.job.params, "metadata": view.job.meta}


@router.post("/statuses")
@in_thread
def many_statuses(body: StatusesBody, user: CurrentUser, session: ReadSession) -> list[dict]:
    out: list[dict[str, Any]] = []
    for job_id in body.ids:
        try:
            view = job_reads.get_job(session, user, job_id, files=True)
        except NotFound as exc:
            out.append({"id": job_id, "status": "NOT_FOUND", "detail": exc.detail})
            continue
        entry = job_json(view)
        if body.list_files:
            rows, _ = job_reads.list_elements(
                session, user, job_id, limit=body.limit, offset=body.offset
            )
            errors = last_errors(session, rows)
            entry["elements"] = [element_json(session, e, errors=errors) for e in rows]
        out.append(entry)
    return out


@router.post("/jobs/{job_id}/recover")
def recover_job(
    job_id: int, user: CurrentUser, session: WriteSession, body: RecoverBody | None = None
) -> dict[str, Any]:
    """Checks every destination of a COPY job; the report fills in as workers check."""
    return recover.request(session, user, job_id, (body or RecoverBody()).dry_run)


@router.get("/jobs/{job_id}/recover")
def recover_report(job_id: int, user: CurrentUser, session: ReadSession) -> dict[str, Any]:
    return recover.report(session, user, job_id)


@router.get("/jobs/{job_id}/result")
def job_result(job_id: int, user: CurrentUser, session: ReadSession) -> Any:
    """A custom job's JSON result (404 while there is none)."""
    view = job_reads.get_job(session, user, job_id)
    if "data" not in (view.job.result or {}):
        raise NotFound(f"job {job_id} has no result yet (status {view.status.name})")
    return {
        "jobid": job_id,
        "status": view.status.name,
        "result": (view.job.result or {}).get("data"),
    }
