"""Seeing the queue under /workqueue/api/v1.0: load history, queue status, workers, explain."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from haul.server.deps import AdminUser, CurrentUser, ReadSession
from haul.server.schemas import PathId
from haul.services import explain as explain_service
from haul.services import load_history, queue_load, worker_activity

router = APIRouter()

Ints = Annotated[list[int] | None, Query()]
Strings = Annotated[list[str] | None, Query()]


def _page_links(request: Request, page: int, page_size: int, count: int) -> dict[str, Any]:
    """Seed 001's envelope links: absolute URLs with every other parameter kept."""
    nxt = (
        str(request.url.include_query_params(page=page + 1, page_size=page_size))
        if page * page_size < count
        else None
    )
    prev = (
        str(request.url.include_query_params(page=page - 1, page_size=page_size))
        if page > 1
        else None
    )
    return {"count": count, "next": nxt, "previous": prev}


@router.get("/load")
def get_load(
    request: Request,
    user: CurrentUser,
    session: ReadSession,
    started: str | None = None,
    ended: str | None = None,
    job_type_id: Ints = None,
    job_type_name: Strings = None,
    job_type_category: Strings = None,
    job_type_priority: Ints = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=load_history.MAX_PAGE_SIZE)] = 100,
) -> dict[str, Any]:
    """Pending, queued and running counts per sampler tick (seed 001's ``/load``).

    ``started``/``ended`` take ISO-8601 datetimes or durations back from now
    (``PT3H0M0S``); the range may span at most 31 days.
    """
    result = load_history.history(
        session,
        started,
        ended,
        page,
        page_size,
        ids=job_type_id,
        names=job_type_name,
        categories=job_type_category,
        priorities=job_type_priority,
    )
    return _page_links(request, page, page_size, result.count) | {"results": result.results}


@router.get("/queue/status")
def queue_status(
    request: Request,
    user: CurrentUser,
    session: ReadSession,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=load_history.MAX_PAGE_SIZE)] = 100,
) -> dict[str, Any]:
    """Waiting work grouped by job type, read live (seed 001's ``/queue/status``)."""
    rows = queue_load.queue_status(session)
    start = (page - 1) * page_size
    return _page_links(request, page, page_size, len(rows)) | {
        "results": rows[start : start + page_size]
    }


@router.get("/workers")
def list_workers(user: AdminUser, session: ReadSession) -> dict[str, Any]:
    """Each worker's last contact, the elements it holds, and bytes moved in the last minute."""
    rows = worker_activity.workers(session)
    return {"count": len(rows), "active": sum(1 for w in rows if w["active"]), "results": rows}


@router.get("/jobs/{job_id}/explain")
def explain_job(job_id: PathId, user: CurrentUser, session: ReadSession) -> dict[str, Any]:
    """Why a job's elements wait: the limits that hold them and their place in line."""
    return explain_service.explain(session, user, job_id)
