"""Sites, their endpoints, and per-user credentials ("sessions" in pdm).

A site is visible to its owner, to admins, and to everyone when public.
Credentials are sealed by the server's SecretBox before they touch the
database; nothing in this module returns the secret itself except
``credential_material``, which only the worker lease path calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.endpoints import EndpointError, parse_endpoint, under_root
from haul.domain.enums import (
    CREDENTIAL_FIELDS,
    CREDENTIAL_SCHEMES,
    HOST_KEY_SCHEMES,
    OPTIONAL_CREDENTIAL_FIELDS,
    SCHEME_PROTOCOLS,
    JobProtocol,
    Role,
)
from haul.domain.host_keys import HostKeyError, normalize_host_key
from haul.domain.paths import PathError, refuse_bidi, validate_submitted_path
from haul.security.secret_box import SecretBox
from haul.services.errors import BadRequest, Conflict, CredentialNeeded, Forbidden, NotFound
from haul.store.clock import as_utc, utcnow
from haul.store.queries import credentials
from haul.store.queries import sites as site_rows
from haul.store.queries.names import user_emails
from haul.store.queries.sites import Endpoint, SiteFacts
from haul.store.tables import Credential, Site, SiteEndpoint, User

MAX_CREDENTIAL_SECONDS = 366 * 24 * 3600
DEFAULT_CREDENTIAL_SECONDS = 12 * 3600


@dataclass
class SiteView:
    # The ORM row, or a submission's plain row (store.queries.sites.SiteFacts: the
    # fields submitting reads, ``load_views``).
    site: Site | SiteFacts
    # ORM rows, or a submission's plain (url, scheme) rows (store.queries.sites.Endpoint).
    endpoints: Sequence[SiteEndpoint | Endpoint]

    @property
    def schemes(self) -> set[str]:
        return {e.scheme for e in self.endpoints}

    @property
    def protocols(self) -> set[JobProtocol]:
        return {SCHEME_PROTOCOLS[s] for s in self.schemes}


def is_admin(user: User) -> bool:
    return user.role == Role.ADMIN


def visible_sites(session: Session, user: User) -> list[Site]:
    everyone = is_admin(user) or user.role == Role.WORKER
    return site_rows.sites_seen_by(session, None if everyone else user.id)


def owner_emails(session: Session, sites: list[Site]) -> dict[int, str]:
    """Who owns each site, for the sites a caller can see (public ones name their owner)."""
    return user_emails(session, {s.owner_id for s in sites})


def get_site(session: Session, user: User, site_id: int, field: str = "site") -> SiteView:
    site = session.get(Site, site_id)
    view = seen_by(None if site is None else SiteView(site, []), user, site_id, field)
    view.endpoints = endpoints_of(session, site_id)
    return view


def load_views(session: Session, site_ids: list[int]) -> dict[int, SiteView]:
    """The named sites with their endpoints in one statement, before anyone's
    visibility is checked (``seen_by``): a submission reads its sites once and
    decides from their endpoints whether one is the upload site."""
    rows = site_rows.with_endpoints(session, sorted(set(site_ids)))
    return {sid: SiteView(site, eps) for sid, (site, eps) in rows.items()}


def seen_by(view: SiteView | None, user: User, site_id: int, field: str = "site") -> SiteView:
    """``view`` if ``user`` may see its site; a missing or hidden site is a 404."""
    if view is None or not _visible(view.site, user):
        raise NotFound(f"{field} {site_id}: no such site")
    return view


def _visible(site: Site | SiteFacts, user: User) -> bool:
    return site.public or site.owner_id == user.id or is_admin(user) or user.role == Role.WORKER


def endpoints_of(session: Session, site_id: int) -> list[SiteEndpoint]:
    """Every submission reads its sites' endpoints (a statement built once)."""
    return site_rows.endpoints_of(session, site_id)


def create_site(
    session: Session,
    user: User,
    *,
    name: str,
    description: str,
    public: bool,
    def_path: str,
    endpoints: list[str],
    requires_credential: bool | None,
    file_roots: list[str],
    host_key: str | None = None,
) -> Site:
    name = name.strip()
    if not name:
        raise BadRequest("site_name: must not be empty")
    if len(name) > 200:
        raise BadRequest("site_name: longer than 200 characters")
    if not endpoints:
        raise BadRequest("endpoints: at least one endpoint URL is needed")
    try:
        refuse_bidi(name, "site_name")
        validate_submitted_path(def_path, "def_path")
    except PathError as exc:
        raise BadRequest(str(exc)) from exc
    parsed = []
    for url in endpoints:
        try:
            ep = parse_endpoint(url)
        except EndpointError as exc:
            raise BadRequest(str(exc)) from exc
        if ep.scheme == "file" and not is_admin(user) and not under_root(ep.prefix, file_roots):
            raise Forbidden(
                f"endpoint {url}: only admins may register file:// endpoints outside the "
                "server's allowed roots"
            )
        parsed.append(ep)
    if site_rows.name_taken(session, name):
        raise Conflict(f"site_name: a site named {name!r} already exists")
    secured = sorted({ep.scheme for ep in parsed} & CREDENTIAL_SCHEMES)
    if requires_credential is None:
        requires_credential = bool(secured)
    if not requires_credential and secured and not is_admin(user):
        # Without a credential the worker connects anonymously; only an admin
        # may vouch that a sftp/https/root/s3 site is meant to be used that way.
        raise BadRequest(
            f"requires_credential: only admins may register a {'/'.join(secured)} site "
            "that needs no credential"
        )
    site = Site(
        name=name,
        description=description,
        owner_id=user.id,
        public=public,
        def_path=def_path,
        requires_credential=requires_credential,
        host_key=_checked_host_key(host_key, {ep.scheme for ep in parsed}),
    )
    session.add(site)
    session.flush()
    for ep in parsed:
        session.add(SiteEndpoint(site_id=site.id, url=ep.url, scheme=ep.scheme))
    session.flush()
    return site


# How a refusal names the endpoints that take a host key: "an sftp:// endpoint".
_HOST_KEY_ENDPOINT = " or ".join(f"{s}://" for s in sorted(HOST_KEY_SCHEMES))


def _checked_host_key(text: str | None, schemes: set[str]) -> str | None:
    if text is None:
        return None
    if not schemes & HOST_KEY_SCHEMES:
        raise BadRequest(
            f"host_key: only sites with an {_HOST_KEY_ENDPOINT} endpoint take a host key"
        )
    try:
        return normalize_host_key(text)
    except HostKeyError as exc:
        raise BadRequest(str(exc)) from exc


def _owned(session: Session, user: User, site_id: int, what: str) -> SiteView:
    view = get_site(session, user, site_id)
    if view.site.owner_id != user.id and not is_admin(user):
        raise Forbidden(f"site {site_id}: only its owner or an admin may {what}")
    return view


def set_host_key(session: Session, user: User, site_id: int, host_key: str | None) -> Site:
    """The owner sets the SSH host key, or with None resets the pin to trust on first use."""
    view = _owned(session, user, site_id, "change its host key")
    view.site.host_key = _checked_host_key(host_key, view.schemes)
    session.flush()
    return view.site


def pin_host_key(
    session: Session, job_id: int, element_id: int, token: str, site_id: int, host_key: str
) -> str:
    """Trust on first use: a worker holding a lease on this site records its key.

    Only the holder of a live lease on a job that uses the site may pin, and
    only while no key is stored; the answer is the key the site holds now,
    which differs from `host_key` when someone pinned another one first.
    """
    try:
        key = normalize_host_key(host_key)
    except HostKeyError as exc:
        raise BadRequest(str(exc)) from exc
    job = site_rows.job_under_lease(session, job_id, element_id, token)
    if job is None:
        raise NotFound(f"element {job_id}.{element_id}: no live lease with this token")
    if site_id not in (job.src_siteid, job.dst_siteid):
        raise BadRequest(f"site_id: site {site_id} is not a site of job {job_id}")
    if not {e.scheme for e in endpoints_of(session, site_id)} & HOST_KEY_SCHEMES:
        raise BadRequest(f"site_id: site {site_id} has no {_HOST_KEY_ENDPOINT} endpoint")
    return site_rows.pin_host_key(session, site_id, key) or key


def delete_site(session: Session, user: User, site_id: int) -> None:
    view = get_site(session, user, site_id)
    if view.site.owner_id != user.id and not is_admin(user):
        raise Forbidden(f"site {site_id}: only its owner or an admin may delete it")
    session.delete(view.site)


def _check_material(scheme_set: set[str], material: dict[str, Any]) -> dict[str, Any]:
    clean = {k: v for k, v in material.items() if v is not None}
    for key, value in clean.items():
        if key == "verify":
            if not isinstance(value, bool):
                raise BadRequest("verify: must be true or false")
            continue
        if not isinstance(value, str):
            raise BadRequest(f"{key}: must be a string")
        if "\x00" in value:
            raise BadRequest(f"{key}: must not contain a NUL character")
    options = [opts for s in sorted(scheme_set) for opts in CREDENTIAL_FIELDS.get(s, [])]
    if not options:
        raise BadRequest("this site's protocols take no credential")
    allowed = {k for opts in options for k in opts} | OPTIONAL_CREDENTIAL_FIELDS
    unknown = sorted(set(clean) - allowed)
    if unknown:
        raise BadRequest(f"{unknown[0]}: not a credential field for this site")
    if not any(all(clean.get(k) for k in opts) for opts in options):
        wanted = " or ".join("+".join(opts) for opts in options)
        raise BadRequest(f"credential: this site needs {wanted}")
    return clean


def store_credential(
    session: Session,
    box: SecretBox,
    user: User,
    site_id: int,
    material: dict[str, Any],
    lifetime: int | None,
) -> Credential:
    view = get_site(session, user, site_id)
    lifetime = DEFAULT_CREDENTIAL_SECONDS if lifetime is None else lifetime
    if lifetime <= 0 or lifetime > MAX_CREDENTIAL_SECONDS:
        raise BadRequest(f"lifetime: must be between 1 and {MAX_CREDENTIAL_SECONDS} seconds")
    clean = _check_material(view.schemes, material)
    row = credentials.credential(session, user.id, site_id)
    if row is None:
        row = Credential(user_id=user.id, site_id=site_id, secret=b"", expires=utcnow())
        session.add(row)
    row.secret = box.seal(clean)
    for key in ("username", "access_key"):
        if len(clean.get(key, "")) > 200:
            raise BadRequest(f"{key}: longer than 200 characters")
    row.username = clean.get("username", "") or clean.get("access_key", "")
    row.created = utcnow()
    row.expires = utcnow() + timedelta(seconds=lifetime)
    session.flush()
    return row


def get_credential(session: Session, user_id: int, site_id: int) -> Credential | None:
    row = credentials.credential(session, user_id, site_id)
    if row is None:
        return None
    expires = as_utc(row.expires)
    if expires is not None and expires <= utcnow():
        return None
    return row


def credential_expiry(row: Credential) -> datetime:
    expires = as_utc(row.expires)
    assert expires is not None
    return expires


def delete_credential(session: Session, user: User, site_id: int) -> None:
    get_site(session, user, site_id)
    row = credentials.credential(session, user.id, site_id)
    if row is None:
        raise NotFound(f"site {site_id}: you hold no credential for it")
    session.delete(row)


def require_credential(session: Session, user: User, view: SiteView, field: str) -> None:
    """A job may be submitted only while its owner holds a live credential."""
    if not view.site.requires_credential:
        return
    if get_credential(session, user.id, view.site.id) is None:
        raise CredentialNeeded(
            f"{field} {view.site.id} ({view.site.name}): no valid credential; "
            f"log in to the site first (POST /site/api/v1.0/session/{view.site.id})"
        )


def credential_material(session: Session, box: SecretBox, user_id: int, site_id: int) -> dict:
    row = get_credential(session, user_id, site_id)
    if row is None:
        return {}
    return box.open(row.secret)


def valid_credentials(session: Session, user: User) -> list[tuple[Site, Credential]]:
    rows = credentials.credentials_of(session, user.id)
    now = utcnow()
    return [(s, c) for s, c in rows if (as_utc(c.expires) or now) > now]
