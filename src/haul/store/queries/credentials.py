"""Stored site credentials' SQL (``services/sites.py``): one sealed row per user and site.

Whether a row is still valid (its expiry) is the service's to judge; these
read rows as stored.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from haul.store.tables import Credential, Site


def credential(session: Session, user_id: int, site_id: int) -> Credential | None:
    return session.scalar(
        select(Credential).where(Credential.user_id == user_id, Credential.site_id == site_id)
    )


def credentials_of(session: Session, user_id: int) -> list[tuple[Site, Credential]]:
    """The user's credentials with their sites, by site id."""
    rows = session.execute(
        select(Site, Credential)
        .join(Credential, Credential.site_id == Site.id)
        .where(Credential.user_id == user_id)
        .order_by(Site.id)
    ).all()
    return [(s, c) for s, c in rows]
