"""Dashboard sign-in: email and password, an API token, or `haul run`'s one-time link.

Each way ends the same: the browser gets a dashboard token of its own in an
HttpOnly cookie (services.web_signin says why it is never the token or link
that opened it), and logging out revokes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from haul.server.login_throttle import TooManyLogins, throttled_login
from haul.server.web.routes import COOKIE, _db, render
from haul.services import users, web_signin
from haul.services.errors import ServiceError
from haul.store.clock import as_utc, utcnow

router = APIRouter(prefix="/web", include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only paths inside the dashboard: a login link must not redirect elsewhere."""
    if target and target.startswith("/web") and "//" not in target and "\\" not in target:
        return target
    return "/web/jobs"


@router.get("")
@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/web/jobs", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", None, next=_safe_next(next), error=None, email="")


@router.post("/login")
def login(
    request: Request,
    email: Annotated[str, Form()] = "",
    passwd: Annotated[str, Form()] = "",
    api_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/web/jobs",
) -> Response:
    """Signs in with email and password, or with an API token (accounts without one)."""
    settings = request.app.state.settings
    try:
        if api_token.strip():
            with _db(request).write() as session:
                _, token, row = web_signin.signin_with_token(
                    session, api_token, settings.login_token_seconds
                )
                expires = as_utc(row.expires)
        else:
            _, token, row = throttled_login(
                request, _db(request), email, passwd, settings.login_token_seconds
            )
            expires = as_utc(row.expires)
    except (ServiceError, TooManyLogins) as exc:
        page = render(
            request, "login.html", None, next=_safe_next(next), error=exc.detail, email=email
        )
        page.status_code = exc.status_code if isinstance(exc, TooManyLogins) else 401
        page.headers.update(getattr(exc, "headers", None) or {})
        return page
    return _signed_in(request, _safe_next(next), token, expires)


@router.get("/login/link")
def login_link(request: Request, code: str = "") -> Response:
    """A one-time link (`haul run` prints one): signs in, then drops the code from the URL."""
    settings = request.app.state.settings
    try:
        with _db(request).write() as session:
            _, token, row = web_signin.redeem_signin_link(
                session, code, settings.login_token_seconds
            )
            expires = as_utc(row.expires)
    except ServiceError as exc:
        page = render(request, "login.html", None, next="/web/jobs", error=exc.detail, email="")
        page.status_code = 401
        return page
    return _signed_in(request, "/web/jobs", token, expires)


def _signed_in(request: Request, target: str, token: str, expires: datetime | None) -> Response:
    response = RedirectResponse(target, status_code=303)
    max_age = int((expires - utcnow()).total_seconds()) if expires else None
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/web",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    token = request.cookies.get(COOKIE)
    if token:
        with _db(request).write() as session:
            users.revoke_presented(session, token)
    response = RedirectResponse("/web/login", status_code=303)
    response.delete_cookie(COOKIE, path="/web")
    return response


