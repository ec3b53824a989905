"""Dashboard pages under /web: server-rendered, refreshed by polling HTML fragments.

Login uses the API's own accounts and tokens: the login form obtains an API
token and keeps it in an HttpOnly cookie. Pages and fragments are read with
that cookie; actions (submit, cancel, retry...) are sent by the page's script
to the JSON API with the same token as a Bearer header, so there is one set
of rules for both and no cross-site request can act with the cookie alone
(the API ignores cookies).

Live parts of a page are fragments rendered by the same templates as the
first render, so a table never has two renderers that could disagree.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from haul.domain.enums import (
    CREDENTIAL_FIELDS,
    BanKind,
    JobProtocol,
    JobStatus,
    JobType,
    Role,
    parse_enum,
)
from haul.domain.job_status import attempts_shown
from haul.server.deps import NEEDS_USER, USER_ROLES, require_role
from haul.server.path_ids import JOB_ID
from haul.services import bans, dashboard, job_errors, job_type_catalog, queue_load, worker_activity
from haul.services import sites as site_service
from haul.services import users as user_service
from haul.services.errors import NotFound, Unauthorized
from haul.store.clock import as_utc
from haul.store.database import Database
from haul.store.tables import User

COOKIE = "haul_token"
HERE = Path(__file__).parent
WORKQUEUE = "/workqueue/api/v1.0"
SITES = "/site/api/v1.0"

router = APIRouter(prefix="/web", include_in_schema=False)
templates = Jinja2Templates(directory=str(HERE / "templates"))


class LoginRequired(Exception):
    """No valid session cookie: pages redirect to the login form, fragments answer 401."""


@dataclass
class Caller:
    user: User
    token: str

    @property
    def is_admin(self) -> bool:
        return self.user.role == Role.ADMIN


def _db(request: Request) -> Database:
    return request.app.state.db


def web_caller(request: Request) -> Caller:
    token = request.cookies.get(COOKIE)
    if not token:
        raise LoginRequired()
    with _db(request).read() as session:
        try:
            user = user_service.authenticate(session, token)
        except Unauthorized:
            raise LoginRequired() from None
        session.expunge(user)
    require_role(user, USER_ROLES, NEEDS_USER)
    return Caller(user, token)


WebCaller = Annotated[Caller, Depends(web_caller)]


# -- template helpers --------------------------------------------------------------


def human_bytes(n: float | int | None) -> str:
    if n is None:
        return "–"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} PB"


def human_rate(bps: float | None) -> str:
    return "–" if not bps else f"{human_bytes(bps)}/s"


def human_age(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def iso(value: datetime | None) -> str:
    v = as_utc(value)
    return v.strftime("%Y-%m-%d %H:%M:%S UTC") if v else "–"


def type_name(value: int) -> str:
    return JobType(value).name if value in JobType._value2member_map_ else str(value)


def status_name(value: int) -> str:
    return JobStatus(value).name


def tries(element: Any) -> int:
    """Attempts an element shows: the try under way counts (as in the API)."""
    return attempts_shown(element.status, element.attempts)


templates.env.filters.update(
    tries=tries,
    bytes=human_bytes,
    rate=human_rate,
    age=human_age,
    iso=iso,
    type_name=type_name,
    status_name=status_name,
)


def render(request: Request, name: str, caller: Caller | None, **context: Any) -> HTMLResponse:
    context |= {
        "caller": caller,
        "token": caller.token if caller else "",
        "api": WORKQUEUE,
        "site_api": SITES,
        "statuses": [s.name for s in JobStatus],
        "types": [t.name for t in JobType],
    }
    response = templates.TemplateResponse(request, name, context)
    # Pages carry the session's API token for the script; no cache may keep them.
    response.headers["Cache-Control"] = "no-store"
    return response


def _enums(enum: type, values: list[str] | None, field: str) -> list[Any]:
    out = []
    for raw in values or []:
        for part in raw.split(","):
            if part.strip():
                try:
                    out.append(parse_enum(enum, part, field))
                except ValueError:
                    continue  # a stale filter in a bookmark shows everything, not an error
    return out


# -- jobs ---------------------------------------------------------------------------


def _job_filters(status: list[str] | None, type: list[str] | None, mine: bool) -> dict[str, Any]:
    return {
        "statuses_wanted": _enums(JobStatus, status, "status"),
        "types_wanted": _enums(JobType, type, "type"),
        "mine": mine,
    }


def _jobs_context(request: Request, caller: Caller, filters: dict[str, Any]) -> dict[str, Any]:
    with _db(request).read() as session:
        rows = dashboard.list_jobs(
            session,
            caller.user,
            statuses=filters["statuses_wanted"] or None,
            types=filters["types_wanted"] or None,
            all_users=not filters["mine"],
        )
    return {"jobs": rows, "show_owner": caller.is_admin and not filters["mine"]}


@router.get("/jobs")
def jobs_page(
    request: Request,
    caller: WebCaller,
    status: Annotated[list[str] | None, Query()] = None,
    type: Annotated[list[str] | None, Query()] = None,
    mine: bool = False,
) -> HTMLResponse:
    filters = _job_filters(status, type, mine)
    live = urlencode(
        [("status", s.name) for s in filters["statuses_wanted"]]
        + [("type", t.name) for t in filters["types_wanted"]]
        + ([("mine", "true")] if mine else [])
    )
    return render(
        request,
        "jobs.html",
        caller,
        live_query=live,
        status_filter=(status or [""])[0],
        type_filter=(type or [""])[0],
        **filters,
        **_jobs_context(request, caller, filters),
    )


@router.get("/fragments/jobs")
def jobs_fragment(
    request: Request,
    caller: WebCaller,
    status: Annotated[list[str] | None, Query()] = None,
    type: Annotated[list[str] | None, Query()] = None,
    mine: bool = False,
) -> HTMLResponse:
    filters = _job_filters(status, type, mine)
    return render(request, "_jobs_rows.html", caller, **_jobs_context(request, caller, filters))


@router.get("/jobs/new")
def new_job_page(request: Request, caller: WebCaller) -> HTMLResponse:
    with _db(request).read() as session:
        sites = [
            {
                "id": s.id,
                "name": s.name,
                "def_path": s.def_path,
                "protocols": sorted(
                    p.name
                    for p in site_service.SiteView(
                        s, site_service.endpoints_of(session, s.id)
                    ).protocols
                ),
            }
            for s in site_service.visible_sites(session, caller.user)
        ]
    return render(request, "new.html", caller, sites=sites)


def _job_context(
    request: Request, caller: Caller, job_id: int, offset: int, limit: int
) -> dict[str, Any]:
    with _db(request).read() as session:
        summary = dashboard.get_job(session, caller.user, job_id)
        rows, total = dashboard.elements(session, caller.user, job_id, limit=limit, offset=offset)
        errors = job_errors.last_errors(session, rows)
        failures = (
            job_errors.error_summary(session, caller.user, job_id)
            if summary.view.counts.get(JobStatus.FAILED)
            else []
        )
    return {
        "s": summary,
        "job": summary.job,
        "elements": rows,
        "errors": errors,
        "failures": failures,
        "total": total,
        "offset": offset,
        "limit": limit,
        "protocol": JobProtocol(summary.job.protocol).name,
    }


@router.get(f"/jobs/{JOB_ID}")
def job_page(
    request: Request,
    caller: WebCaller,
    job_id: int,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> HTMLResponse:
    try:
        context = _job_context(request, caller, job_id, offset, limit)
    except NotFound as exc:
        page = render(request, "error.html", caller, message=exc.detail)
        page.status_code = 404
        return page
    return render(request, "job.html", caller, **context)


@router.get("/fragments/jobs/{job_id}")
def job_fragment(
    request: Request,
    caller: WebCaller,
    job_id: int,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> HTMLResponse:
    context = _job_context(request, caller, job_id, offset, limit)
    return render(request, "_job_live.html", caller, **context)


@router.get("/fragments/jobs/{job_id}/elements/{element_id}/attempts")
def attempts_fragment(
    request: Request, caller: WebCaller, job_id: int, element_id: int
) -> HTMLResponse:
    with _db(request).read() as session:
        element, rows = dashboard.attempts(session, caller.user, job_id, element_id)
        items = [
            {
                "a": a,
                "status": JobStatus(a.status).name,
                "seconds": dashboard.duration(a.started, a.ended),
            }
            for a in rows
        ]
    return render(request, "_attempts.html", caller, element=element, attempts=items)


# -- sites --------------------------------------------------------------------------


@router.get("/sites")
def sites_page(request: Request, caller: WebCaller) -> HTMLResponse:
    with _db(request).read() as session:
        rows = []
        for s in site_service.visible_sites(session, caller.user):
            view = site_service.SiteView(s, site_service.endpoints_of(session, s.id))
            cred = site_service.get_credential(session, caller.user.id, s.id)
            mine = s.owner_id == caller.user.id or caller.is_admin
            rows.append(
                {
                    "site": s,
                    "endpoints": [e.url for e in view.endpoints] if mine else [],
                    "schemes": sorted(view.schemes),
                    "mine": mine,
                    "credential": cred,
                    "fields": [
                        "+".join(opts)
                        for sch in sorted(view.schemes)
                        for opts in CREDENTIAL_FIELDS.get(sch, [])
                    ],
                }
            )
    return render(request, "sites.html", caller, sites=rows)


# -- queue (admin) ------------------------------------------------------------------


def _require_admin(caller: Caller) -> None:
    if not caller.is_admin:
        raise NotFound("the queue page is for administrators")


@router.get("/queue")
def queue_page(request: Request, caller: WebCaller) -> HTMLResponse:
    if not caller.is_admin:
        page = render(request, "error.html", caller, message="The queue page is for admins.")
        page.status_code = 403
        return page
    with _db(request).read() as session:
        catalog = job_type_catalog.job_types(session)
    return render(
        request,
        "queue.html",
        caller,
        catalog=catalog,
        sample_seconds=request.app.state.settings.sample_seconds,
        **_queue_context(request),
    )


def _queue_context(request: Request) -> dict[str, Any]:
    with _db(request).read() as session:
        return {
            "queue": queue_load.queue_status(session),
            "workers": worker_activity.workers(session),
            "se_bans": bans.list_bans(session, BanKind.STORAGE),
            "dn_bans": bans.list_bans(session, BanKind.USER),
        }


@router.get("/fragments/queue")
def queue_fragment(request: Request, caller: WebCaller) -> HTMLResponse:
    _require_admin(caller)
    return render(request, "_queue_tables.html", caller, **_queue_context(request))


def basename(path: str) -> str:
    return posixpath.basename(path.rstrip("/")) or path


templates.env.filters["basename"] = basename
templates.env.filters["urlquote"] = lambda s: quote(str(s), safe="")
