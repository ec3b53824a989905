"""Seed 000's job routes under /workqueue/api/v1.0."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from haul.domain.enums import JobStatus, JobType, parse_enum
from haul.server.deps import CurrentUser, ReadSession, WriteSession
from haul.server.schemas import MAX_DB_INT, JobSubmission, PathId
from haul.server.views import element_json, job_json, output_json
from haul.services import jobs as job_service
from haul.services.errors import BadRequest

router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=10_000)]
Offset = Annotated[int, Query(ge=0, le=2**62)]
AttemptNo = Annotated[int, Path(ge=-MAX_DB_INT, le=MAX_DB_INT)]


def _enum_list(enum: type, values: list[str] | None, field: str) -> list[Any] | None:
    if not values:
        return None
    out = []
    for raw in values:
        for part in raw.split(","):
            if part.strip():
                try:
                    out.append(parse_enum(enum, part, field))
                except ValueError as exc:
                    raise BadRequest(str(exc)) from exc
    return out


@router.get("/jobs")
def list_jobs(
    user: CurrentUser,
    session: ReadSession,
    response: Response,
    status: Annotated[list[str] | None, Query()] = None,
    type: Annotated[list[str] | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    views, total = job_service.list_jobs(
        session,
        user,
        statuses=_enum_list(JobStatus, status, "status"),
        types=_enum_list(JobType, type, "type"),
        limit=limit,
        offset=offset,
    )
    response.headers["X-Total-Count"] = str(total)
    return [job_json(v) for v in views]


def _submit(
    request: Request, user: Any, session: Any, body: JobSubmission, route_type: JobType | None
) -> JSONResponse:
    job_type = route_type if route_type is not None else body.type
    if job_type is None:
        raise BadRequest("type: field required (LIST, COPY, REMOVE, RENAME or MKDIR)")
    spec = job_service.JobSpec(
        type=job_type,
        src_siteid=body.src_siteid,
        dst_siteid=body.dst_siteid,
        src_filepath=body.src_filepath,
        dst_filepath=body.dst_filepath,
        extra_opts=body.extra_opts or {},
        priority=body.priority,
        protocol=body.protocol,
        max_tries=body.max_tries,
        metadata=body.metadata,
        submission_id=body.submission_id,
        params=body.model_dump(mode="json", exclude_none=True) | {"type": job_type.name},
    )
    job, _created = job_service.submit(session, user, spec)
    view = job_service.get_job(session, user, job.id)
    return JSONResponse(job_json(view), status_code=200)


@router.post("/jobs")
def submit_job(
    request: Request, user: CurrentUser, session: WriteSession, body: JobSubmission
) -> JSONResponse:
    return _submit(request, user, session, body, None)


def _typed_route(job_type: JobType) -> Any:
    def handler(
        request: Request, user: CurrentUser, session: WriteSession, body: JobSubmission
    ) -> JSONResponse:
        return _submit(request, user, session, body, job_type)

    handler.__name__ = f"submit_{job_type.name.lower()}"
    handler.__doc__ = f"Register a {job_type.name} job (the route's type wins over the body's)."
    return handler


for _t in JobType:
    router.add_api_route(f"/{_t.name.lower()}", _typed_route(_t), methods=["POST"])


@router.get("/jobs/{job_id}")
def get_job(job_id: PathId, user: CurrentUser, session: ReadSession) -> dict[str, Any]:
    return job_json(job_service.get_job(session, user, job_id))


@router.get("/jobs/{job_id}/status")
def get_job_status(job_id: PathId, user: CurrentUser, session: ReadSession) -> dict[str, Any]:
    view = job_service.get_job(session, user, job_id)
    return {"jobid": job_id, "status": view.status.name}


@router.get("/jobs/{job_id}/elements")
def list_elements(
    job_id: PathId,
    user: CurrentUser,
    session: ReadSession,
    response: Response,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    rows, total = job_service.list_elements(session, user, job_id, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return [element_json(session, e) for e in rows]


@router.get("/jobs/{job_id}/elements/{element_id}")
def get_element(
    job_id: PathId, element_id: PathId, user: CurrentUser, session: ReadSession
) -> dict[str, Any]:
    return element_json(session, job_service.get_element(session, user, job_id, element_id))


@router.get("/jobs/{job_id}/elements/{element_id}/status")
def get_element_status(
    job_id: PathId, element_id: PathId, user: CurrentUser, session: ReadSession
) -> dict[str, Any]:
    e = job_service.get_element(session, user, job_id, element_id)
    return {
        "jobid": job_id,
        "elementid": element_id,
        "status": JobStatus(e.status).name,
        "attempts": e.attempts,
    }


@router.get("/jobs/{job_id}/output")
def get_output(job_id: PathId, user: CurrentUser, session: ReadSession) -> list[dict[str, Any]]:
    return [
        output_json(session, e, a) for e, a in job_service.latest_attempts(session, user, job_id)
    ]


@router.get("/jobs/{job_id}/elements/{element_id}/output")
def get_element_output(
    job_id: PathId, element_id: PathId, user: CurrentUser, session: ReadSession
) -> dict[str, Any]:
    e, a = job_service.element_attempt(session, user, job_id, element_id, None)
    return output_json(session, e, a)


@router.get("/jobs/{job_id}/elements/{element_id}/output/{attempt}")
def get_element_attempt_output(
    job_id: PathId, element_id: PathId, attempt: AttemptNo, user: CurrentUser, session: ReadSession
) -> dict[str, Any]:
    e, a = job_service.element_attempt(session, user, job_id, element_id, attempt)
    return output_json(session, e, a)
