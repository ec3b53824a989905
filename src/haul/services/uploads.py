"""Small uploads (PanDA's putFile): files a user sends to the server itself.

An upload is stored under ``<home>/uploads/<id>`` and can be the source of a
COPY (``src_siteid: "upload"``, ``src_filepath: <id>``). The source site is a
built-in site with an ``upload://`` endpoint that users cannot register; a
worker reads the bytes from the server, within the lease of the element that
needs them. Uploads no job references are deleted after a retention period.

An upload is its uploader's alone: every use checks the upload's owner against
the job's owner (a submission naming the upload site by its number like one
naming ``"upload"``, and the worker's fetch within a lease), admins included,
so no job of one account ever reads another's upload. The upload site belongs
to the server (its owner is the server's own account, which nothing can act
as), so no user can delete it, and it is only
ever the source of a COPY.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import zlib
from collections.abc import Collection
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import JobType, Role
from haul.domain.ownership import may_act_on
from haul.services.errors import BadRequest, Conflict, Forbidden, NotFound, TooLarge
from haul.services.lease_access import holds_lease
from haul.store.clock import as_utc, utcnow
from haul.store.queries import accounts
from haul.store.queries import sites as site_rows
from haul.store.queries import uploads as upload_rows
from haul.store.tables import Element, Job, Site, SiteEndpoint, Upload, User

MAX_UPLOAD_BYTES = 10 * 1000 * 1000
UPLOAD_SITE = "upload"
UPLOAD_URL = "upload://server/"
UPLOAD_SCHEME = "upload"
SERVER_ACCOUNT = "system:server"
SERVER_ROLE = Role.SYSTEM.value


def upload_dir(home: Path) -> Path:
    path = home / "uploads"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


# The upload site of each database, once found: every submission asks (an upload
# may be its source) and the site never changes (system:server owns it; no one
# can delete it).
_UPLOAD_SITE: dict[str, int] = {}


def upload_site_id(session: Session) -> int | None:
    key = str(session.get_bind().url)
    if key in _UPLOAD_SITE:
        return _UPLOAD_SITE[key]
    found = site_rows.first_with_scheme(session, UPLOAD_SCHEME)
    if found is not None:
        _UPLOAD_SITE[key] = found
    return found


def is_upload_site(schemes: Collection[str]) -> bool:
    """A site with an ``upload://`` endpoint is the upload site: users cannot register
    that scheme, and the server creates its one site with it (``upload_site``)."""
    return UPLOAD_SCHEME in schemes


def server_account(session: Session) -> User:
    """The account that owns what belongs to the server; it has no password and no tokens.

    Its email has no ``@``, so no one can register it, and with no password
    and no token nothing can act as it.
    """
    user = accounts.user_by_email(session, SERVER_ACCOUNT)
    if user is None:
        user = User(email=SERVER_ACCOUNT, name="haul server", role=SERVER_ROLE)
        session.add(user)
        session.flush()
    return user


def claim_upload_site(session: Session) -> None:
    """At start: the upload site belongs to the server (older versions gave it to
    the first uploader, who could then delete it)."""
    site_id = upload_site_id(session)
    if site_id is None:
        return
    site = session.get(Site, site_id)
    owner = server_account(session)
    if site is not None and site.owner_id != owner.id:
        site.owner_id = owner.id


def upload_site(session: Session) -> Site:
    """The built-in site whose paths are upload ids (created on first use, the server's)."""
    site_id = upload_site_id(session)
    if site_id is not None:
        site = session.get(Site, site_id)
        assert site is not None
        return site
    name = UPLOAD_SITE
    if site_rows.name_taken(session, name):
        name = f"{UPLOAD_SITE}-{secrets.token_hex(3)}"
    site = Site(
        name=name,
        description="files uploaded to this haul server",
        owner_id=server_account(session).id,
        public=True,
        def_path="/",
        requires_credential=False,
    )
    session.add(site)
    session.flush()
    session.add(SiteEndpoint(site_id=site.id, url=UPLOAD_URL, scheme=UPLOAD_SCHEME))
    session.flush()
    return site


def refuse_changes(session: Session, site_id: int) -> None:
    """The upload site is the server's: nobody deletes or changes it."""
    if site_id == upload_site_id(session):
        raise Forbidden(f"site {site_id} is the server's upload site; it cannot be changed")


def owned_by(session: Session, owner_id: int, upload_id: str) -> Upload:
    """An upload of ``owner_id``; anyone else's is "no such upload" (404)."""
    row = session.get(Upload, upload_id.strip("/"))
    if row is None or row.user_id != owner_id:
        raise NotFound(f"no upload {upload_id}")
    return row


def copy_source(
    session: Session,
    owner: User,
    job_type: JobType,
    src_siteid: int | str | None,
    src_filepath: str | None,
    dst_siteid: int | None,
    upload_sites: Collection[int],
) -> tuple[int | str | None, str | None]:
    """A submission's source after the upload rules: ``(site id, "/<upload id>")``.

    ``src_siteid`` may name uploads as ``"upload"`` or by the upload site's
    number; either way the upload must be the job owner's own and the job a
    COPY. Sources that are not uploads come back unchanged. ``upload_sites``:
    which of the submission's numbered sites are the upload site, decided by
    the caller from the site rows it loads anyway (``is_upload_site``), so a
    submission pays no lookup of its own for the upload site (a negative
    answer could not be remembered: another server process may create it).
    """
    if dst_siteid is not None and dst_siteid in upload_sites:
        raise BadRequest(f"dst_siteid: site {dst_siteid} holds uploads, which are read-only")
    if src_siteid != UPLOAD_SITE and src_siteid not in upload_sites:
        return src_siteid, src_filepath
    if job_type != JobType.COPY:
        raise BadRequest("src_siteid: an upload can only be the source of a COPY")
    upload = owned_by(session, owner.id, src_filepath or "")
    return upload_site(session).id, "/" + upload.id


def file_for_lease(
    session: Session,
    home: Path,
    worker: User,
    job_id: int,
    element_id: int,
    token: str,
    upload_id: str,
) -> Path:
    """Where the bytes are of the upload an element's lease may read (see ``_for_lease``)."""
    path = upload_dir(home) / _for_lease(session, worker, job_id, element_id, token, upload_id).id
    if not path.exists():
        raise NotFound(f"no upload {upload_id}")
    return path


def _for_lease(
    session: Session, worker: User, job_id: int, element_id: int, token: str, upload_id: str
) -> Upload:
    """The upload an element's lease may read: its job's source, of its job's owner."""
    element = session.get(Element, (job_id, element_id))
    if not holds_lease(worker, element, token):
        raise Conflict("the lease is not current")
    assert element is not None
    job = session.get(Job, job_id)
    copies_it = (
        job is not None
        and job.type == int(JobType.COPY)
        and job.src_siteid is not None
        and job.src_siteid == upload_site_id(session)
        and (element.src_filepath or "").strip("/") == upload_id
    )
    if not copies_it:
        raise NotFound(f"element {job_id}.{element_id} does not copy upload {upload_id}")
    assert job is not None
    return owned_by(session, job.user_id, upload_id)


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
    upload_site(session)
    session.flush()
    return row


def get(session: Session, user: User, upload_id: str) -> Upload:
    row = session.get(Upload, upload_id.strip("/"))
    if row is None or not may_act_on(row.user_id, user.id, user.role):
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
    site = upload_site_id(session)
    n = 0
    for row in upload_rows.created_before(session, cutoff):
        if site is not None and upload_rows.named_by_a_job(session, site, row.id):
            continue
        (upload_dir(home) / row.id).unlink(missing_ok=True)
        session.delete(row)
        n += 1
    return n
