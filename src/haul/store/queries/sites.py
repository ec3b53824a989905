"""Sites' SQL (``services/sites.py``, the upload site of ``services/uploads.py``, the
worker's reach in ``services/lease_access.py``).

Who may see or change a site is the services' rule; these statements only
read and write rows. Endpoints are read by every submission, so their
statement is built once. A host key is pinned only where none is stored:
the first pin wins and later ones read it back.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from haul.domain.enums import LEASED
from haul.store.tables import Element, Job, Site, SiteEndpoint, User

_ENDPOINTS = (
    select(SiteEndpoint)
    .where(SiteEndpoint.site_id == bindparam("site_id"))
    .order_by(SiteEndpoint.id)
)


class Endpoint(NamedTuple):
    """What a submission reads of an endpoint (a row, not an ORM object: every
    one-file submission loads its two sites' endpoints)."""

    url: str
    scheme: str


class SiteFacts(NamedTuple):
    """What a submission reads of a site: who may see it, whether it wants a
    credential, its name for the complaints (a row, not an ORM object)."""

    id: int
    name: str
    owner_id: int
    public: bool
    requires_credential: bool


_WITH_ENDPOINTS = (
    select(
        Site.id,
        Site.name,
        Site.owner_id,
        Site.public,
        Site.requires_credential,
        SiteEndpoint.url,
        SiteEndpoint.scheme,
    )
    .outerjoin(SiteEndpoint, SiteEndpoint.site_id == Site.id)
    .where(Site.id.in_(bindparam("ids", expanding=True)))
    .order_by(Site.id, SiteEndpoint.id)
)


class LeaseSite(NamedTuple):
    """What a lease names of a site (services/claims.py: site_payloads), and its
    owner's role (a site an admin owns, or nobody, is trusted)."""

    id: int
    name: str
    def_path: str
    host_key: str | None
    owner_role: str | None
    urls: list[str]


_LEASE_SITES = (
    select(Site.id, Site.name, Site.def_path, Site.host_key, User.role, SiteEndpoint.url)
    .outerjoin(User, User.id == Site.owner_id)
    .outerjoin(SiteEndpoint, SiteEndpoint.site_id == Site.id)
    .where(Site.id.in_(bindparam("ids", expanding=True)))
    .order_by(Site.id, SiteEndpoint.id)
)


def lease_sites(session: Session, site_ids: list[int]) -> dict[int, LeaseSite]:
    """Sites by id with their owners' roles and endpoint URLs, in one statement: a
    claim names two sites, and their ORM loads were most of a claim's fixed cost."""
    out: dict[int, LeaseSite] = {}
    if not site_ids:
        return out
    rows = session.connection().execute(_LEASE_SITES, {"ids": site_ids})
    for site_id, name, def_path, host_key, role, url in rows:
        site = out.get(site_id)
        if site is None:
            site = out[site_id] = LeaseSite(site_id, name, def_path, host_key, role, [])
        if url is not None:
            site.urls.append(url)
    return out


def with_endpoints(
    session: Session, site_ids: list[int]
) -> dict[int, tuple[SiteFacts, list[Endpoint]]]:
    """Sites by id with their endpoints, in one statement on the connection (every
    one-file submission reads its two sites: the ORM's loading cost more than it)."""
    out: dict[int, tuple[SiteFacts, list[Endpoint]]] = {}
    if not site_ids:
        return out
    rows = session.connection().execute(_WITH_ENDPOINTS, {"ids": site_ids})
    for site_id, name, owner_id, public, requires, url, scheme in rows:
        row = out.get(site_id)
        if row is None:
            row = out[site_id] = (SiteFacts(site_id, name, owner_id, public, requires), [])
        if url is not None:
            row[1].append(Endpoint(url, scheme))
    return out


def sites_seen_by(session: Session, user_id: int | None) -> list[Site]:
    """Sites by id: the public ones and ``user_id``'s own, or every site (None)."""
    q = select(Site).order_by(Site.id)
    if user_id is not None:
        q = q.where(or_(Site.public.is_(True), Site.owner_id == user_id))
    return list(session.scalars(q))


def endpoints_of(session: Session, site_id: int) -> list[SiteEndpoint]:
    return list(session.scalars(_ENDPOINTS, {"site_id": site_id}))


def all_endpoints(session: Session) -> list[SiteEndpoint]:
    return list(session.scalars(select(SiteEndpoint)))


def name_taken(session: Session, name: str) -> bool:
    return session.scalar(select(Site.id).where(Site.name == name)) is not None


def first_with_scheme(session: Session, scheme: str) -> int | None:
    """The id of the first site with an endpoint of this scheme."""
    return session.scalar(
        select(Site.id)
        .join(SiteEndpoint, SiteEndpoint.site_id == Site.id)
        .where(SiteEndpoint.scheme == scheme)
        .order_by(Site.id)
        .limit(1)
    )


def job_under_lease(session: Session, job_id: int, element_id: int, token: str) -> Job | None:
    """The element's job, if the element is leased under ``token``."""
    return session.scalar(
        select(Job)
        .join(Element, Element.job_id == Job.id)
        .where(
            Element.job_id == job_id,
            Element.id == element_id,
            Element.lease_token == token,
            Element.status.in_(LEASED),
        )
    )


def in_worker_leases(session: Session, worker_id: int, site_id: int) -> bool:
    """Whether the worker holds a lease on an element of a job using this site."""
    found = session.scalar(
        select(Element.id)
        .join(Job, Job.id == Element.job_id)
        .where(
            Element.worker_id == worker_id,
            Element.status.in_(LEASED),
            or_(Job.src_siteid == site_id, Job.dst_siteid == site_id),
        )
        .limit(1)
    )
    return found is not None


def pin_host_key(session: Session, site_id: int, key: str) -> str | None:
    """Stores ``key`` if the site has none yet; returns the key it holds afterwards."""
    session.execute(
        update(Site).where(Site.id == site_id, Site.host_key.is_(None)).values(host_key=key)
    )
    return session.scalar(select(Site.host_key).where(Site.id == site_id))
