"""What the Prometheus metrics read from the database (``server/metrics.py`` shows them).

Two reads, both kept small on purpose:

- the queue gauges, at scrape time: unfinished elements by status and type
  (zeros for the built-ins, so a series never vanishes), the pending, queued
  and running counts per type (the claim's own condition, through
  ``queue_load.live_counts``), and how many workers are active;
- the facts a batch of results is counted by: each element's type and
  start, its job's sites, and those sites' names. A batch can hold
  thousands, so plain rows, read per group of jobs; rows the result service
  already read are passed in and not read again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import JobStatus, JobType
from haul.services import queue_load, worker_activity
from haul.services.job_types import type_name
from haul.store.keyed_elements import ELEMENTS, load_rows
from haul.store.queries import element_reads
from haul.store.queries.names import site_names

_FACT_COLUMNS = (ELEMENTS.c.type, ELEMENTS.c.started)
GAUGED = (JobStatus.NEW, JobStatus.SUBMITTED, JobStatus.RUNNING)


def type_namer(session: Session) -> Callable[[int | str], str]:
    """Type names for metric labels, custom types looked up once per scrape or batch."""
    cache: dict[int, str] = {}

    def name(value: int | str) -> str:
        if isinstance(value, str):
            return value
        if value not in cache:
            cache[value] = type_name(session, value)
        return cache[value]

    return name


@dataclass
class QueueGauges:
    depth: list[tuple[str, str, int]]  # (status name, type name, unfinished elements)
    load: list[tuple[str, queue_load.Counts]]  # (type name, pending/queued/running)
    active_workers: int


def queue_gauges(session: Session) -> QueueGauges:
    name_of = type_namer(session)
    seen = element_reads.open_counts(session)
    for status in GAUGED:
        for t in JobType:
            seen.setdefault((int(status), int(t)), 0)
    depth = [
        (JobStatus(status).name, name_of(type_id), n)
        for (status, type_id), n in sorted(seen.items())
    ]
    counts = queue_load.live_counts(session)
    for t in JobType:
        counts.setdefault(int(t), queue_load.Counts())
    load = [(name_of(type_id), c) for type_id, c in sorted(counts.items())]
    return QueueGauges(depth, load, worker_activity.active_workers(session))


def element_facts(session: Session, keys: list[tuple[int, int]]) -> dict[tuple[int, int], Any]:
    """Each element's (type, started), by (job id, element id)."""
    return load_rows(session, keys, _FACT_COLUMNS)


def job_sites(session: Session, job_ids: Collection[int]) -> dict[int, Any]:
    """Each job's (id, src_siteid, dst_siteid), by id."""
    return element_reads.job_sites(session, job_ids)


def names_of_sites(session: Session, ids: Collection[int]) -> dict[int, str]:
    return site_names(session, ids)
