"""Sites, endpoints and per-user credentials under /site/api/v1.0."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from haul.domain.enums import CREDENTIAL_FIELDS, OFFERED_SCHEMES
from haul.server.deps import AppSettings, Box, CurrentUser, ReadSession, WorkerUser, WriteSession
from haul.server.schemas import HostKey, NewCredential, NewSite, PathId
from haul.server.views import iso, site_json
from haul.services import sites as site_service
from haul.services import uploads
from haul.services.errors import NotFound
from haul.services.lease_access import site_in_leases
from haul.services.sites import SiteView

router = APIRouter()


@router.get("/site")
def list_sites(user: CurrentUser, session: ReadSession) -> list[dict[str, Any]]:
    sites = site_service.visible_sites(session, user)
    owners = site_service.owner_emails(session, sites)
    return [
        site_json(
            SiteView(s, site_service.endpoints_of(session, s.id)),
            caller_id=user.id,
            with_endpoints=False,
            owner=owners.get(s.owner_id),
        )
        for s in sites
    ]


@router.get("/site/{site_id}")
def get_site(site_id: PathId, user: CurrentUser, session: ReadSession) -> dict[str, Any]:
    view = site_service.get_site(session, user, site_id)
    owner = site_service.owner_emails(session, [view.site]).get(view.site.owner_id)
    return site_json(view, caller_id=user.id, with_endpoints=True, owner=owner)


@router.post("/site")
def create_site(
    body: NewSite, user: CurrentUser, session: WriteSession, settings: AppSettings
) -> JSONResponse:
    site = site_service.create_site(
        session,
        user,
        name=body.site_name,
        description=body.site_desc,
        public=body.public,
        def_path=body.def_path,
        endpoints=body.endpoints,
        requires_credential=body.requires_credential,
        file_roots=settings.file_roots,
        host_key=body.host_key,
    )
    return JSONResponse(site.id, status_code=200)


@router.delete("/site/{site_id}")
def delete_site(site_id: PathId, user: CurrentUser, session: WriteSession) -> dict[str, Any]:
    uploads.refuse_changes(session, site_id)
    site_service.delete_site(session, user, site_id)
    return {"deleted": site_id}


@router.put("/site/{site_id}/host_key")
def set_host_key(
    site_id: PathId, body: HostKey, user: CurrentUser, session: WriteSession
) -> dict[str, Any]:
    """The owner sets the SSH host key the server must present."""
    site = site_service.set_host_key(session, user, site_id, body.host_key)
    return {"site_id": site_id, "host_key": site.host_key}


@router.delete("/site/{site_id}/host_key")
def reset_host_key(site_id: PathId, user: CurrentUser, session: WriteSession) -> dict[str, Any]:
    """Forgets the pinned key: the next connection pins the key it is offered."""
    site_service.set_host_key(session, user, site_id, None)
    return {"site_id": site_id, "host_key": None}


@router.get("/endpoint/{site_id}")
def get_endpoints(site_id: PathId, user: WorkerUser, session: ReadSession) -> dict[str, Any]:
    """What a worker needs to reach a site (never its credentials), within its leases."""
    if not site_in_leases(session, user, site_id):
        raise NotFound(f"site {site_id}: no such site in this worker's leases")
    view = site_service.get_site(session, user, site_id)
    return {
        "site_id": view.site.id,
        "site_name": view.site.name,
        "def_path": view.site.def_path,
        "endpoints": [e.url for e in view.endpoints],
    }


@router.get("/service")
def service_info(settings: AppSettings) -> dict[str, Any]:
    return {
        "credential_schemes": {k: ["+".join(o) for o in v] for k, v in CREDENTIAL_FIELDS.items()},
        "schemes": list(OFFERED_SCHEMES),
        "file_roots": settings.file_roots,
    }


@router.get("/session/{site_id}")
def get_session(site_id: PathId, user: CurrentUser, session: ReadSession) -> dict[str, Any]:
    view = site_service.get_site(session, user, site_id)
    row = site_service.get_credential(session, user.id, site_id)
    return {
        "site_id": site_id,
        "ok": row is not None,
        "required": view.site.requires_credential,
        "username": row.username if row else None,
        "expiry": iso(row.expires) if row else None,
    }


@router.post("/session/{site_id}")
def create_session(
    site_id: PathId, body: NewCredential, user: CurrentUser, session: WriteSession, box: Box
) -> dict[str, Any]:
    material = body.model_dump(exclude={"lifetime"})
    row = site_service.store_credential(session, box, user, site_id, material, body.lifetime)
    return {"site_id": site_id, "ok": True, "expiry": iso(row.expires)}


@router.delete("/session/{site_id}")
def delete_session(site_id: PathId, user: CurrentUser, session: WriteSession) -> dict[str, Any]:
    site_service.delete_credential(session, user, site_id)
    return {"site_id": site_id, "ok": False}
