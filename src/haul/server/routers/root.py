"""Root routes: endpoint info (seed 003), health, and whoami."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from haul import __version__
from haul.server.deps import CurrentUser, ReadSession
from haul.server.views import iso
from haul.services.sites import credential_expiry, valid_credentials
from haul.services.users import roles_of

router = APIRouter()

API_VERSION = (1, 0, 0)
SCHEMA_VERSION = (1, 0, 0)


def _version(parts: tuple[int, int, int]) -> dict[str, int]:
    return {"major": parts[0], "minor": parts[1], "patch": parts[2]}


@router.get("/")
def endpoint_info(request: Request) -> dict[str, Any]:
    core = tuple(int(p) for p in __version__.split(".")[:3])
    return {
        "url": str(request.base_url).rstrip("/"),
        "core": _version(core),  # type: ignore[arg-type]
        "api": _version(API_VERSION),
        "schema": _version(SCHEMA_VERSION),
    }


@router.get("/hello")
def hello() -> dict[str, Any]:
    return {"status": "ok", "service": "haul", "version": __version__}


@router.get("/whoami")
def whoami(user: CurrentUser, session: ReadSession) -> dict[str, Any]:
    return {
        "user_id": user.id,
        "email": user.email,
        "name": user.name,
        "roles": roles_of(user),
        "credentials": [
            {"site_id": s.id, "site_name": s.name, "expiry": iso(credential_expiry(c))}
            for s, c in valid_credentials(session, user)
        ],
    }
