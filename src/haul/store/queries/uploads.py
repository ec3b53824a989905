"""Uploads' SQL (``services/uploads.py``): which uploads are old, and whether a job
still names one as its source (the cleanup keeps those)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from haul.store.tables import Job, Upload


def created_before(session: Session, cutoff: datetime) -> list[Upload]:
    return list(session.scalars(select(Upload).where(Upload.created < cutoff)))


def named_by_a_job(session: Session, upload_site_id: int, upload_id: str) -> bool:
    """Whether some job reads this upload (its path with or without the leading slash)."""
    found = session.scalar(
        select(Job.id)
        .where(
            Job.src_siteid == upload_site_id,
            Job.src_filepath.in_([upload_id, f"/{upload_id}"]),
        )
        .limit(1)
    )
    return found is not None
