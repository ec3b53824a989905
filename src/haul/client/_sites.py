"""Sites, the caller's credentials for them ("delegation"), and uploads."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from haul.client._context import SITES, WORKQUEUE, Context
from haul.client._types import Site, Upload

__all__ = [
    "add_site",
    "delegate",
    "get_delegation",
    "get_site",
    "list_sites",
    "put_file",
    "remove_site",
    "undelegate",
]

# Without force, a credential that still has this long to live is kept (as FTS3 does).
KEEP_IF_LONGER_THAN = timedelta(hours=1)


def list_sites(ctx: Context) -> list[Site]:
    """Sites the caller may use: their own, and public ones."""
    return cast(list[Site], ctx.get(f"{SITES}/site"))


def get_site(ctx: Context, site_id: int) -> Site:
    """One site with its endpoint URLs (the list leaves them out)."""
    return cast(Site, ctx.get(f"{SITES}/site/{site_id}"))


def add_site(
    ctx: Context,
    name: str,
    endpoints: list[str],
    *,
    description: str = "",
    public: bool = False,
    def_path: str = "/",
    requires_credential: bool | None = None,
) -> int:
    """Registers a site and answers its id; ``file://`` endpoints need an admin or a file root."""
    body: dict[str, Any] = {
        "site_name": name,
        "site_desc": description,
        "public": public,
        "def_path": def_path,
        "endpoints": endpoints,
    }
    if requires_credential is not None:
        body["requires_credential"] = requires_credential
    return int(ctx.post(f"{SITES}/site", body))


def remove_site(ctx: Context, site_id: int) -> dict[str, Any]:
    return cast(dict[str, Any], ctx.delete(f"{SITES}/site/{site_id}"))


def get_delegation(ctx: Context, site_id: int) -> dict[str, Any]:
    """Whether the caller holds a live credential for a site, and until when."""
    return cast(dict[str, Any], ctx.get(f"{SITES}/session/{site_id}"))


def delegate(
    ctx: Context,
    site: int,
    credential: dict[str, Any],
    lifetime: int | timedelta,
    force: bool = False,
) -> dict[str, Any]:
    """Stores the caller's credential for a site (seed 003's delegate) for ``lifetime``.

    Without ``force`` a credential that still has more than an hour to live
    (or more than ``lifetime``, if shorter) is kept and the server is not
    sent the secret again. ``credential`` holds the site's fields, such as
    ``username`` + ``password``, ``private_key``, ``token``, or
    ``access_key`` + ``secret_key``. Answers ``{site_id, ok, expiry}``.
    """
    seconds = int(lifetime.total_seconds()) if isinstance(lifetime, timedelta) else int(lifetime)
    if not force:
        current = get_delegation(ctx, site)
        expiry = _parse_time(current.get("expiry")) if current.get("ok") else None
        keep = min(KEEP_IF_LONGER_THAN, timedelta(seconds=seconds))
        if expiry is not None and expiry - datetime.now(UTC) > keep:
            return {"site_id": site, "ok": True, "expiry": current["expiry"]}
    body = {**credential, "lifetime": seconds}
    return cast(dict[str, Any], ctx.post(f"{SITES}/session/{site}", body))


def undelegate(ctx: Context, site_id: int) -> dict[str, Any]:
    """Forgets the caller's credential for a site; jobs that need it can then not start."""
    return cast(dict[str, Any], ctx.delete(f"{SITES}/session/{site_id}"))


def put_file(ctx: Context, path: str | os.PathLike[str]) -> Upload:
    """Uploads a small local file (at most 10 MB; seed 002's putFile): ``{id, checksum, size}``.

    Copy it onwards with ``copy(ctx, "upload", upload["id"], site, path)``.
    """
    p = Path(path)
    with p.open("rb") as fh:
        resp = ctx.request("POST", f"{WORKQUEUE}/files",
                           files={"file": (p.name, fh, "application/octet-stream")})
    return cast(Upload, resp.json_body())


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
