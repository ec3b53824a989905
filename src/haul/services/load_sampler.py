"""The load sampler: one row per job type per tick, and old ticks thinned.

Each tick records the live counts (``queue_load.live_counts``) of every
known job type, zeros included, so plots have no gaps. Samples older than a
retention period are thinned to one tick per bucket, so a year of history
stays small. The periodic task runs it under an advisory lock, so one
server process of several samples.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from haul.services import worker_activity
from haul.services.job_type_catalog import job_types
from haul.services.queue_load import live_counts
from haul.store.clock import as_utc, utcnow
from haul.store.queries import queue_load as queries

THIN_WINDOW = timedelta(days=7)


def sample(session: Session, now: datetime | None = None) -> int:
    """Records one tick: a row per known job type, zeros included, so plots have no gaps."""
    now = now or utcnow()
    counts = live_counts(session)
    ids = [t.id for t in job_types(session)]
    ids += sorted(set(counts) - set(ids))  # element types no catalog entry names yet
    rows = [
        {
            "time": now,
            "job_type_id": type_id,
            "pending_count": counts[type_id].pending if type_id in counts else 0,
            "queued_count": counts[type_id].queued if type_id in counts else 0,
            "running_count": counts[type_id].running if type_id in counts else 0,
        }
        for type_id in ids
    ]
    return queries.add_samples(session, rows)


def thin(session: Session, now: datetime, keep_seconds: float, bucket_seconds: float) -> int:
    """Keeps one tick per bucket among samples older than ``keep_seconds``.

    Only the week before the cut-off is scanned: older ticks were thinned by
    earlier runs, and rescanning them would make every tick slower forever.
    """
    cutoff = now - timedelta(seconds=keep_seconds)
    times = [as_utc(t) for t in queries.sample_times(session, cutoff - THIN_WINDOW, cutoff)]
    doomed: list[datetime] = []
    last_bucket: int | None = None
    for t in times:
        assert t is not None
        bucket = int(t.timestamp() // bucket_seconds)
        if bucket == last_bucket:
            doomed.append(t)
        last_bucket = bucket
    return queries.delete_ticks(session, doomed)


SAMPLER_LOCK = 0x4A02  # advisory lock key; the lease reaper holds 0x4A01


def tick(session: Session, keep_seconds: float, bucket_seconds: float) -> None:
    """One sampler run: record the load, thin old history, prune worker byte deltas."""
    now = utcnow()
    sample(session, now)
    thin(session, now, keep_seconds, bucket_seconds)
    worker_activity.prune(session, now)
