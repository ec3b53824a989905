"""What read models show instead of ids: site names, account e-mails, upload file names."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from haul.store.tables import Site, Upload, User


def site_names(session: Session, ids: Collection[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(Site.id, Site.name).where(Site.id.in_(list(ids))))
    return {site_id: name for site_id, name in rows}


def user_emails(session: Session, ids: Collection[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.email).where(User.id.in_(list(ids))))
    return {user_id: email for user_id, email in rows}


def upload_names(session: Session, ids: Collection[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(select(Upload.id, Upload.name).where(Upload.id.in_(list(ids))))
    return {upload_id: name for upload_id, name in rows}
