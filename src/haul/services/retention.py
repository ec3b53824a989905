"""Retention: what the server forgets, and when.

Attempt rows (with their logs) and stored listings older than the retention
age (``--retention-days``, 90 by default) are deleted, and so are tokens
that have expired. Elements and jobs stay: their status, counters and
timestamps remain, and an element's attempt numbers keep counting, so an
attempt number is never reused either.

Runs on every tick of the lease reaper, a bounded batch at a time (each
query walks an index), so a large backlog is worked off over a few ticks
without holding the write lock for long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from haul.store.clock import utcnow
from haul.store.keyed_elements import CHUNK
from haul.store.queries import retention as queries

ATTEMPTS_PER_TICK = 2000
TOKENS_PER_TICK = 5000


@dataclass
class Pruned:
    attempts: int = 0
    entries: int = 0
    tokens: int = 0


def prune(session: Session, retention_days: float, now: datetime | None = None) -> Pruned:
    """Deletes one batch of what has outlived its retention; returns what went."""
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    out = Pruned()
    old = queries.attempts_ended_before(session, cutoff, ATTEMPTS_PER_TICK)
    step = CHUNK // 3  # three parameters per key
    for start in range(0, len(old), step):
        part = old[start : start + step]
        keys = [(a.job_id, a.element_id, a.attempt) for a in part]
        out.entries += queries.delete_listings(session, keys)
        out.attempts += queries.delete_attempts(session, [a.id for a in part])
    expired = queries.tokens_expired(session, now, TOKENS_PER_TICK)
    for start in range(0, len(expired), CHUNK):
        out.tokens += queries.delete_tokens(session, expired[start : start + CHUNK])
    return out
