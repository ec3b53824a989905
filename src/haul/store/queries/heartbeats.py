"""A heartbeat's write: the element is RUNNING, its lease extended, its progress kept.

Guarded by the beat's lease token and the leased statuses, so a beat of a
lease that was lost or ended meanwhile changes nothing; the caller learns
how many of a batch's beats it wrote.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from haul.domain.enums import JobStatus
from haul.store.dialect import executemany_rowcount
from haul.store.keyed_elements import keyed_update
from haul.store.queries.leased import TOKEN_GUARD
from haul.store.tables import Job

_BEAT = keyed_update(
    status=int(JobStatus.RUNNING),
    lease_expires=bindparam("v_expires"),
    command=bindparam("v_command"),
    progress=bindparam("v_progress"),
).where(*TOKEN_GUARD)


class Beat(NamedTuple):
    """One element's beat: its key, the lease it claims, what to store."""

    job_id: int
    element_id: int
    token: str
    expires: datetime
    command: str | None  # the command kept for later beats (None: delivered, cleared)
    progress: dict[str, Any]


def extend_leases(session: Session, beats: list[Beat]) -> int:
    """Writes the beats whose lease is still current; returns how many.

    In (job, element) order, the order every writer locks rows in. Where the
    driver cannot count an executemany's rows, every beat counts as written.
    """
    if not beats:
        return 0
    params = [
        {
            "k_job": b.job_id,
            "k_id": b.element_id,
            "k_token": b.token,
            "v_expires": b.expires,
            "v_command": b.command,
            "v_progress": b.progress,
        }
        for b in sorted(beats, key=lambda b: (b.job_id, b.element_id))
    ]
    result = session.execute(_BEAT, params, execution_options={"synchronize_session": False})
    return executemany_rowcount(result, len(params))


def cancelled_among(session: Session, job_ids: Collection[int]) -> set[int]:
    """Which of these jobs are cancelled: their running elements are told to stop."""
    if not job_ids:
        return set()
    return set(session.scalars(select(Job.id).where(Job.id.in_(job_ids), Job.cancelled.is_(True))))
