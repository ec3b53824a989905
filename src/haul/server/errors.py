"""Every failure leaves as JSON ``{"detail": "..."}`` with the right status.

Validation errors name the field; unexpected exceptions become a 500 with no
traceback or internals in the body (they are logged server-side).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from haul.services.errors import ServiceError

log = logging.getLogger("haul.server")

RETRY_AFTER_SECONDS = 1
# PostgreSQL's deadlock_detected, serialization_failure, lock_not_available,
# too_many_connections; SQLite's lock timeout.
_BUSY_PGCODES = {"40P01", "40001", "55P03", "53300"}


def is_busy(exc: OperationalError) -> bool:
    """A database error that means "too busy now", not "broken"."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code in _BUSY_PGCODES or "database is locked" in str(orig)


def _where(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def describe_validation(errors: list[dict[str, Any]]) -> tuple[int, str]:
    messages = []
    status = 422
    for err in errors:
        if err.get("type") == "json_invalid":
            return 400, "request body is not valid JSON"
        where = _where(err.get("loc", ()))
        msg = err.get("msg", "invalid")
        if err.get("type") == "missing":
            msg = "field required"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
            status = 400
            if where == "body":  # a whole-body check names the field itself
                messages.append(msg)
                continue
        messages.append(msg if msg.startswith(f"{where}:") else f"{where}: {msg}")
    return status, "; ".join(messages) or "invalid request"


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service(_: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        status, detail = describe_validation(list(exc.errors()))
        return JSONResponse({"detail": detail}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such route"
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _data(request: Request, exc: Exception) -> JSONResponse:
        # A value the database cannot store (a number out of range, NUL in text;
        # SQLite's driver raises OverflowError for integers past 64 bits): bad
        # input that slipped past validation, so a 400 rather than a 500.
        log.warning(
            "database refused a value on %s %s: %s",
            request.method,
            request.url.path,
            type(getattr(exc, "orig", exc)).__name__,
        )
        return JSONResponse(
            {"detail": "a value in the request is out of range or cannot be stored"},
            status_code=400,
        )

    @app.exception_handler(PoolTimeout)
    @app.exception_handler(OperationalError)
    async def _busy(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, OperationalError) and not is_busy(exc):
            return await _unexpected(request, exc)
        # Saturation, not a fault: the client may try again shortly.
        log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            {"detail": "the server is busy; try again shortly"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal server error"}, status_code=500)
