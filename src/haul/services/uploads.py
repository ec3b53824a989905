"""Small uploads (PanDA's putFile): files a user sends to the server itself.

An upload is stored under ``<home>/uploads/<id>`` and can be the source of a
COPY (``src_siteid: "upload"``, ``src_filepath: <id>``). The source site is a
built-in site with an ``upload://`` endpoint that users cannot register; a
worker reads the bytes from the server, within the lease of the element that
needs them. Uploads no job references are deleted after a retention period.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haul.services.errors import NotFound, TooLarge
from haul.store.clock import as_utc, utcnow
from haul.store.tables import Job, Site, SiteEndpoint, Upload, User

MAX_UPLOAD_BYTES = 10 * 1000 * 1000
UPLOAD_SITE = "upload"
UPLOAD_URL = "upload://server/"


def upload_dir(home: Path) -> Path:
    path = home / "uploads"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def upload_site(session: Session, owner: User) -> Site:
    """The built-in site whose paths are upload ids (created on first use)."""
    site = session.scalar(
        select(Site)
        .join(SiteEndpoint, SiteEndpoint.site_id == Site.id)
        .where(SiteEndpoint.scheme == "upload")
    )
    if site is None:
        name = UPLOAD_SITE
        if session.scalar(select(Site.id).where(Site.name == name)) is not None:
            name = f"{UPLOAD_SITE}-{secrets.token_hex(3)}"
        site = Site(
            name=name,
            description="files uploaded to this haul server",
            owner_id=owner.id,
            public=True,
            def_path="/",
            requires_credential=False,
        )
        session.add(site)
        session.flush()
        session.add(SiteEndpoint(site_id=site.id, url=UPLOAD_URL, scheme="upload"))
        session.flush()
    return site


def save(session: Session, home: Path, user: User, name: str, data: bytes) -> Upload:
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"file: larger than {MAX_UPLOAD_BYTES} bytes")
    upload_id = secrets.token_hex(16)
    target = upload_dir(home) / upload_id
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    row = Upload(
        id=upload_id,
        user_id=user.id,
        name=os.path.basename(name or "")[:255],
        size=len(data),
        adler32=f"{zlib.adler32(data) & 0xFFFFFFFF:08x}",
        sha256=hashlib.sha256(data).hexdigest(),
    )
    session.add(row)
    upload_site(session, user)
    session.flush()
    return row


def get(session: Session, user: User, upload_id: str) -> Upload:
    row = session.get(Upload, upload_id.strip("/"))
    if row is None or (row.user_id != user.id and user.role != "admin"):
        raise NotFound(f"no upload {upload_id}")
    return row


def upload_json(row: Upload) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "size": row.size,
        "checksum": f"adler32:{row.adler32}",
        "adler32": row.adler32,
        "sha256": row.sha256,
        "created": as_utc(row.created).isoformat() if row.created else None,
        "src_siteid": UPLOAD_SITE,
        "src_filepath": row.id,
    }


def cleanup(session: Session, home: Path, retention_seconds: float) -> int:
    """Deletes uploads older than the retention period that no job names."""
    cutoff = utcnow() - timedelta(seconds=retention_seconds)
    site = session.scalar(
        select(Site.id)
        .join(SiteEndpoint, SiteEndpoint.site_id == Site.id)
        .where(SiteEndpoint.scheme == "upload")
    )
    n = 0
    for row in session.scalars(select(Upload).where(Upload.created < cutoff)):
        used = site is not None and session.scalar(
            select(Job.id)
            .where(Job.src_siteid == site, Job.src_filepath.in_([row.id, f"/{row.id}"]))
            .limit(1)
        )
        if used:
            continue
        (upload_dir(home) / row.id).unlink(missing_ok=True)
        session.delete(row)
        n += 1
    return n
