"""Queue load (seed 001): live counts per job type, the sampler, and load history.

The three states are Scale's, mapped onto haul's elements:

- pending: NEW but not claimable now (backoff ``not_before`` in the future,
  job paused, storage banned, a later stage than the job's current one, its
  job type paused or inactive, or the type's ``max_scheduled`` reached);
- queued: NEW and claimable now, exactly what a worker's claim could take;
- running: leased (SUBMITTED) or reporting progress (RUNNING).

"Claimable" is the claim query's own condition (``claims._claimable`` and
``job_types.blocked_types``), so the numbers cannot drift from what workers
are actually handed.

Job types are identified as elements carry them: the five built-ins by their
``JobType`` values 0..4, custom types by ``CUSTOM_BASE`` + their row id (as
``job_types.element_type`` numbers them). Built-ins without a row yet are
described as ``job_types.ensure_builtins`` would describe them.

History: one row per job type per sampler tick; ``/load`` sums the selected
types per tick. Samples older than a retention period are thinned to one tick
per bucket, so a year of history stays small.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import LEASED, JobStatus, JobType
from haul.domain.limits import PRIORITY
from haul.services.claims import ClaimRequest, _claimable
from haul.services.errors import BadRequest
from haul.services.job_types import blocked_types, element_type
from haul.store.clock import as_utc, utcnow
from haul.store.queries import queue_load as queries

NEW = int(JobStatus.NEW)
MAX_RANGE = timedelta(days=31)
DEFAULT_SPAN = timedelta(days=7)
MAX_PAGE_SIZE = 1000
THIN_WINDOW = timedelta(days=7)


@dataclass
class JobTypeInfo:
    id: int
    name: str
    version: str = "1"
    title: str = ""
    description: str = ""
    category: str = ""
    priority: int = PRIORITY.default
    is_active: bool = True
    is_paused: bool = False
    builtin: bool = False

    def as_json(self) -> dict[str, Any]:
        """Seed 001's job type details, with the fields haul has no use for left neutral."""
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "title": self.title,
            "description": self.description,
            "category": self.category,
            "priority": self.priority,
            "is_active": self.is_active,
            "is_paused": self.is_paused,
            "is_published": True,
            "is_system": self.builtin,
            "icon_code": None,
            "unmet_resources": None,
        }


@dataclass
class Counts:
    pending: int = 0
    queued: int = 0
    running: int = 0
    longest_queued: datetime | None = None
    highest_priority: int | None = None


@dataclass
class LoadPage:
    count: int
    results: list[dict[str, Any]] = field(default_factory=list)


def job_types(session: Session) -> list[JobTypeInfo]:
    """The built-ins first (ids 0..4), then custom types, as their elements number them."""
    builtins = {
        t: JobTypeInfo(
            id=int(t),
            name=t.name,
            title=t.name.title(),
            description=f"built-in {t.name} file operation",
            category="file",
            builtin=True,
        )
        for t in JobType
    }
    custom: list[JobTypeInfo] = []
    for row in queries.job_type_rows(session):
        if row.builtin and row.name not in JobType.__members__:
            continue
        info = JobTypeInfo(
            id=element_type(row),
            name=row.name,
            version=row.version,
            title=row.title,
            description=row.description,
            category=row.category,
            priority=row.priority,
            is_active=row.is_active,
            is_paused=row.is_paused,
            builtin=row.builtin,
        )
        if row.builtin:
            builtins[JobType[row.name]] = info
        else:
            custom.append(info)
    return [builtins[t] for t in JobType] + custom


def claimable_now(session: Session, types: list[int]) -> Any:
    """The claim query's condition for these element types (join Element to Job to use it)."""
    return _claimable(session, ClaimRequest(types=types), types)


def open_room(session: Session, types: list[int]) -> dict[int, int | None]:
    """Types a claim may take now, with the leases left under ``max_scheduled`` (None: no cap)."""
    paused, room = blocked_types(session)
    return {t: room.get(t) for t in types if t not in paused and room.get(t, 1) > 0}


def select_types(
    catalog: list[JobTypeInfo],
    ids: list[int] | None = None,
    names: list[str] | None = None,
    categories: list[str] | None = None,
    priorities: list[int] | None = None,
) -> list[int]:
    """Ids of the types every given filter admits (any value within one filter)."""
    out = []
    lower_names = {n.lower() for n in names or []}
    lower_cats = {c.lower() for c in categories or []}
    for t in catalog:
        if ids and t.id not in ids:
            continue
        if lower_names and t.name.lower() not in lower_names:
            continue
        if lower_cats and t.category.lower() not in lower_cats:
            continue
        if priorities and t.priority not in priorities:
            continue
        out.append(t.id)
    return out


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


# -- /load ------------------------------------------------------------------

_DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta | None:
    """An ISO-8601 duration in weeks, days, hours, minutes, seconds; None if not one."""
    m = _DURATION.match(text.strip().upper())
    if not m or text.strip().upper() in ("P", "PT") or text.strip().upper().endswith("T"):
        return None
    parts = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    return timedelta(
        weeks=parts["w"], days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"]
    )


def parse_when(value: str | None, field: str, now: datetime, default: datetime) -> datetime:
    """A datetime or a duration back from now (Scale's convention), as UTC."""
    if value is None or not value.strip():
        return default
    text = value.strip()
    if text.upper().startswith("P"):
        span = parse_duration(text)
        if span is None:
            raise BadRequest(
                f"{field}: {value!r} is not an ISO-8601 duration such as PT3H0M0S "
                "(weeks, days, hours, minutes and seconds are supported)"
            )
        return now - span
    try:
        when = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"{field}: {value!r} is neither an ISO-8601 datetime such as "
            "2015-01-01T00:00:00Z nor a duration such as PT3H0M0S"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def time_range(
    started: str | None, ended: str | None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    now = now or utcnow()
    end = parse_when(ended, "ended", now, now)
    start = parse_when(started, "started", now, end - DEFAULT_SPAN)
    if start > end:
        raise BadRequest("started: must not be after ended")
    if end - start > MAX_RANGE:
        raise BadRequest("started, ended: the time range must be within 31 days")
    return start, end


def load_page(
    session: Session,
    start: datetime,
    end: datetime,
    type_ids: list[int] | None,
    page: int,
    page_size: int,
) -> LoadPage:
    """Ticks in [start, end], oldest first, each the sum over the selected types."""
    count, rows = queries.tick_page(
        session, start, end, type_ids, page_size, (page - 1) * page_size
    )
    results = []
    for when, pending, queued, running in rows:
        t = as_utc(when)
        assert t is not None
        results.append(
            {
                "time": t.isoformat().replace("+00:00", "Z"),
                "pending_count": int(pending or 0),
                "queued_count": int(queued or 0),
                "running_count": int(running or 0),
            }
        )
    return LoadPage(count=count, results=results)


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


SAMPLER_LOCK = 0x4A02  # advisory lock key; the lease reaper holds 0x4A01


def tick(session: Session, keep_seconds: float, bucket_seconds: float) -> None:
    """One sampler run: record the load, thin old history, prune worker byte deltas."""
    from haul.services import worker_activity

    now = utcnow()
    sample(session, now)
    thin(session, now, keep_seconds, bucket_seconds)
    worker_activity.prune(session, now)
