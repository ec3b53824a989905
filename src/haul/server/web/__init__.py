"""The web dashboard at /web: Jinja2 pages, a small script, no build step."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from haul.server.web import signin
from haul.server.web.routes import HERE, LoginRequired, router

__all__ = ["ROUTERS", "install"]

# The dashboard's routers (each carries its /web prefix).
ROUTERS = (signin.router, router)


def install(app: FastAPI) -> None:
    """Adds the pages, their static files, and the redirect to the login form."""

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _: LoginRequired) -> Response:
        if request.url.path.startswith("/web/fragments/"):
            # The page's script sees this and sends the person to the login form.
            return PlainTextResponse("log in again", status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/web/login?" + urlencode({"next": target}), status_code=303)

    app.mount("/web/static", StaticFiles(directory=HERE / "static"), name="web-static")
    for web_router in ROUTERS:
        app.include_router(web_router)
