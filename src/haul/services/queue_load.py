"""Queue load (seed 001): pending, queued and running elements per job type, now.

The three states are Scale's, mapped onto haul's elements:

- pending: NEW but not claimable now (backoff ``not_before`` in the future,
  job paused, storage banned, a later stage than the job's current one, its
  job type paused or inactive, or the type's ``max_scheduled`` reached);
- queued: NEW and claimable now, exactly what a worker's claim could take;
- running: leased (SUBMITTED) or reporting progress (RUNNING).

"Claimable" is the claim query's own condition (``claims.claimable`` and
``job_types.blocked_types``), so the numbers cannot drift from what workers
are actually handed. The types are the catalog's (``job_type_catalog``);
the history of these counts is ``load_sampler``'s and ``load_history``'s.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import LEASED, JobStatus
from haul.services.claims import claimable
from haul.services.job_type_catalog import JobTypeInfo, job_types
from haul.services.job_types import blocked_types
from haul.store.clock import as_utc
from haul.store.queries import queue_load as queries

NEW = int(JobStatus.NEW)


@dataclass
class Counts:
    pending: int = 0
    queued: int = 0
    running: int = 0
    longest_queued: datetime | None = None
    highest_priority: int | None = None


def claimable_now(session: Session, types: list[int]) -> Any:
    """The claim query's condition for these element types (join Element to Job to use it)."""
    return claimable(session, types)


def open_room(session: Session, types: list[int]) -> dict[int, int | None]:
    """Types a claim may take now, with the leases left under ``max_scheduled`` (None: no cap)."""
    paused, room = blocked_types(session)
    return {t: room.get(t) for t in types if t not in paused and room.get(t, 1) > 0}


def live_counts(session: Session) -> dict[int, Counts]:
    """Pending, queued and running elements per job type id, read now."""
    out: dict[int, Counts] = defaultdict(Counts)
    new_total = queries.count_by_type(session, [NEW])
    for type_id, n in queries.count_by_type(session, [int(s) for s in LEASED]).items():
        out[type_id].running = n
    room = open_room(session, sorted(new_total))
    queued: dict[int, tuple[int, Any, Any]] = {}
    if room:
        queued = queries.claimable_by_type(session, claimable_now(session, list(room)))
    for type_id, total in new_total.items():
        n, oldest, prio = queued.get(type_id, (0, None, None))
        cap = room.get(type_id)
        c = out[type_id]
        c.queued = min(n, cap) if cap is not None else n
        c.pending = total - c.queued
        c.longest_queued = as_utc(oldest) if c.queued else None
        c.highest_priority = prio if c.queued else None
    return out


def queue_status(session: Session) -> list[dict[str, Any]]:
    """Seed 001's queue status: job types with waiting elements, busiest first."""
    counts = live_counts(session)
    catalog = {t.id: t for t in job_types(session)}
    out = []
    for type_id, c in counts.items():
        if c.queued == 0 and c.pending == 0 and c.running == 0:
            continue
        info = catalog.get(type_id) or JobTypeInfo(id=type_id, name=f"type-{type_id}")
        out.append(
            {
                "job_type": info.as_json(),
                "count": c.queued,
                "longest_queued": c.longest_queued.isoformat() if c.longest_queued else None,
                "highest_priority": c.highest_priority,
                "pending_count": c.pending,
                "queued_count": c.queued,
                "running_count": c.running,
            }
        )
    out.sort(key=lambda r: (-r["count"], -r["pending_count"], r["job_type"]["id"]))
    return out
