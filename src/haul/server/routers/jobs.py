"""Seed 000's job routes under /workqueue/api/v1.0."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from haul.domain import limits
from haul.domain.enums import JobStatus, JobType, parse_enum
from haul.domain.job_status import attempts_shown
from haul.domain.limits import MAX_TRIES, PRIORITY
from haul.protocol.bodies import MAX_DB_INT
from haul.protocol.submission_body import JobSubmission
from haul.protocol.submission_form import SUBMIT_ROUTE, typed_route
from haul.server import submission_checks
from haul.server.deps import (
    CurrentUser,
    ReadSession,
    WriteSession,
)
from haul.server.path_ids import JOB_ID
from haul.server.schemas import PathId
from haul.server.threaded import in_thread
from haul.server.views import ListingPage, element_json, job_json, output_json
from haul.server.work_signal import work_added
from haul.services import custom_jobs, job_reads
from haul.services import jobs as job_service
from haul.services.errors import BadRequest
from haul.services.job_errors import error_summary, error_summary_json, last_errors
from haul.services.time_filters import parse_when
from haul.store.clock import utcnow

router = APIRouter()


def _limit(page: limits.Page, what: str) -> Any:
    return Annotated[
        int,
        Query(
            ge=1,
            le=page.maximum,
            description=f"{what} per answer (default {page.default}, at most {page.maximum})",
        ),
    ]


JobsLimit = _limit(limits.JOBS, "jobs")
ElementsLimit = _limit(limits.ELEMENTS, "elements")
OutputLimit = _limit(limits.OUTPUT, "outputs")
ListingLimit = _limit(limits.LISTING, "entries of each embedded listing")
Offset = Annotated[int, Query(ge=0, le=limits.MAX_OFFSET, description="how many to skip")]
ListingOffset = Annotated[
    int, Query(ge=0, le=limits.MAX_OFFSET, description="listing entries to skip")
]
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
@in_thread
def list_jobs(
    user: CurrentUser,
    session: ReadSession,
    response: Response,
    status: Annotated[list[str] | None, Query()] = None,
    type: Annotated[list[str] | None, Query()] = None,
    limit: JobsLimit = limits.JOBS.default,
    offset: Offset = 0,
    started: Annotated[
        str | None, Query(description="submitted since: ISO-8601 datetime or duration (PT3H)")
    ] = None,
    ended: Annotated[
        str | None, Query(description="finished since: ISO-8601 datetime or duration")
    ] = None,
    all: Annotated[bool, Query(description="admins: every user's jobs")] = False,
    user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="admins")] = None,
) -> list[dict[str, Any]]:
    now = utcnow()
    views, total = job_reads.list_jobs(
        session,
        user,
        statuses=_enum_list(JobStatus, status, "status"),
        types=_enum_list(JobType, type, "type"),
        limit=limit,
        offset=offset,
        owner="all" if all else user_id,
        submitted_since=parse_when(started, "started", now, now) if started else None,
        ended_since=parse_when(ended, "ended", now, now) if ended else None,
    )
    response.headers["X-Total-Count"] = str(total)
    return [job_json(v) for v in views]


def _submit(
    request: Request, user: Any, session: Any, body: JobSubmission, route_type: JobType | None
) -> JSONResponse:
    job_type = route_type if route_type is not None else body.type
    if job_type is None:
        raise BadRequest("type: field required (a built-in type or a custom type's name)")
    work_added(request)  # nothing is signalled unless the submission commits
    if isinstance(job_type, str):
        return _submit_custom(user, session, body, job_type)
    submission_checks.check_file_job(body, job_type)
    spec = job_service.JobSpec(
        type=job_type,
        src_siteid=body.src_siteid,
        dst_siteid=body.dst_siteid,
        src_filepath=body.src_filepath,
        dst_filepath=body.dst_filepath,
        extra_opts=body.extra_opts or {},
        priority=PRIORITY.default if body.priority is None else body.priority,
        protocol=body.protocol,
        max_tries=MAX_TRIES.default if body.max_tries is None else body.max_tries,
        metadata=body.metadata,
        submission_id=body.submission_id,
        params=body.model_dump(mode="json", exclude_none=True, exclude={"files"})
        | {"type": job_type.name}
        | ({"files": len(body.files)} if body.files is not None else {}),
        files=body.files,
    )
    job, created = job_service.submit(session, user, spec)
    view = (
        job_reads.new_view(job) if created else job_reads.get_job(session, user, job.id, files=True)
    )
    return JSONResponse(job_json(view), status_code=200)


def _submit_custom(user: Any, session: Any, body: JobSubmission, type_name: str) -> JSONResponse:
    submission_checks.check_custom_job(body, type_name)
    job, _ = custom_jobs.submit_custom(
        session,
        user,
        type_name,
        on_behalf_of=body.user,
        version=body.version,
        name=body.name,
        request=body.request,
        priority=body.priority,
        max_tries=body.max_tries,
        metadata=body.metadata,
        submission_id=body.submission_id,
        params=body.model_dump(mode="json", exclude_none=True),
    )
    return JSONResponse(job_json(job_reads.get_job(session, user, job.id, files=True)))


@router.post(SUBMIT_ROUTE)
@in_thread
def submit_job(
    request: Request, body: JobSubmission, user: CurrentUser, session: WriteSession
) -> JSONResponse:
    return _submit(request, user, session, body, None)


def _typed_route(job_type: JobType) -> Any:
    def handler(
        request: Request, body: JobSubmission, user: CurrentUser, session: WriteSession
    ) -> JSONResponse:
        return _submit(request, user, session, body, job_type)

    handler.__name__ = f"submit_{job_type.name.lower()}"
    handler.__doc__ = f"Register a {job_type.name} job (the route's type wins over the body's)."
    return in_thread(handler)


for _t in JobType:
    router.add_api_route(typed_route(_t), _typed_route(_t), methods=["POST"])


@router.get(f"/jobs/{JOB_ID}")
@in_thread
def get_job(job_id: PathId, user: CurrentUser, session: ReadSession) -> dict[str, Any]:
    return job_json(job_reads.get_job(session, user, job_id, files=True))


@router.get("/jobs/{job_id}/status")
@in_thread
def get_job_status(job_id: PathId, user: CurrentUser, session: ReadSession) -> dict[str, Any]:
    view = job_reads.get_job(session, user, job_id)
    return {"jobid": job_id, "status": view.status.name}


@router.get("/jobs/{job_id}/elements")
@in_thread
def list_elements(
    job_id: PathId,
    user: CurrentUser,
    session: ReadSession,
    response: Response,
    limit: ElementsLimit = limits.ELEMENTS.default,
    offset: Offset = 0,
    listing_limit: ListingLimit = limits.LISTING.default,
    listing_offset: ListingOffset = 0,
) -> list[dict[str, Any]]:
    """A page of the job's elements; ``X-Total-Count`` says how many there are."""
    rows, total = job_reads.list_elements(session, user, job_id, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    page = ListingPage(listing_offset, listing_limit)
    errors = last_errors(session, rows)
    return [element_json(session, e, page, errors) for e in rows]


@router.get("/jobs/{job_id}/elements/{element_id}")
@in_thread
def get_element(
    job_id: PathId,
    element_id: PathId,
    user: CurrentUser,
    session: ReadSession,
    listing_limit: ListingLimit = limits.LISTING.default,
    listing_offset: ListingOffset = 0,
) -> dict[str, Any]:
    """An element; a LIST's ``listing`` is a page of ``listing_total`` entries."""
    element = job_reads.get_element(session, user, job_id, element_id)
    return element_json(session, element, ListingPage(listing_offset, listing_limit))


@router.get("/jobs/{job_id}/errors")
@in_thread
def get_job_errors(job_id: PathId, user: CurrentUser, session: ReadSession) -> list[dict]:
    """The job's FAILED elements by their last error's code, most frequent first, each
    with how many, an example path and element, and that element's message."""
    return error_summary_json(error_summary(session, user, job_id))


@router.get("/jobs/{job_id}/elements/{element_id}/status")
@in_thread
def get_element_status(
    job_id: PathId, element_id: PathId, user: CurrentUser, session: ReadSession
) -> dict[str, Any]:
    e = job_reads.get_element(session, user, job_id, element_id)
    return {
        "jobid": job_id,
        "elementid": element_id,
        "status": JobStatus(e.status).name,
        "attempts": attempts_shown(e.status, e.attempts),  # the try under way counts
    }


@router.get("/jobs/{job_id}/output")
@in_thread
def get_output(
    job_id: PathId,
    user: CurrentUser,
    session: ReadSession,
    response: Response,
    limit: OutputLimit = limits.OUTPUT.default,
    offset: Offset = 0,
    listing_limit: ListingLimit = limits.LISTING.default,
    listing_offset: ListingOffset = 0,
) -> list[dict[str, Any]]:
    """The latest output of a page of the job's elements (``X-Total-Count``: how many)."""
    rows, total = job_reads.latest_attempts(session, user, job_id, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    page = ListingPage(listing_offset, listing_limit)
    return [output_json(session, e, a, page) for e, a in rows]


@router.get("/jobs/{job_id}/elements/{element_id}/output")
@in_thread
def get_element_output(
    job_id: PathId,
    element_id: PathId,
    user: CurrentUser,
    session: ReadSession,
    listing_limit: ListingLimit = limits.LISTING.default,
    listing_offset: ListingOffset = 0,
) -> dict[str, Any]:
    e, a = job_reads.element_attempt(session, user, job_id, element_id, None)
    return output_json(session, e, a, ListingPage(listing_offset, listing_limit))


@router.get("/jobs/{job_id}/elements/{element_id}/output/{attempt}")
@in_thread
def get_element_attempt_output(
    job_id: PathId,
    element_id: PathId,
    attempt: AttemptNo,
    user: CurrentUser,
    session: ReadSession,
    listing_limit: ListingLimit = limits.LISTING.default,
    listing_offset: ListingOffset = 0,
) -> dict[str, Any]:
    e, a = job_reads.element_attempt(session, user, job_id, element_id, attempt)
    return output_json(session, e, a, ListingPage(listing_offset, listing_limit))
