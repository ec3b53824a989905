"""Load history (seed 001's ``/load``): a page of ticks, each summed over the selected types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from haul.services.job_type_catalog import job_types, select_types
from haul.services.time_filters import time_range
from haul.store.clock import as_utc
from haul.store.queries import queue_load as queries

MAX_PAGE_SIZE = 1000


@dataclass
class LoadPage:
    count: int
    results: list[dict[str, Any]] = field(default_factory=list)


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


def history(
    session: Session,
    started: str | None,
    ended: str | None,
    page: int,
    page_size: int,
    *,
    ids: list[int] | None = None,
    names: list[str] | None = None,
    categories: list[str] | None = None,
    priorities: list[int] | None = None,
) -> LoadPage:
    """``/load``: the ticks of a time range given as text (``time_range``), summed over
    the types the filters admit (every type when none is given)."""
    start, end = time_range(started, ended)
    type_ids = None
    if ids or names or categories or priorities:
        type_ids = select_types(
            job_types(session), ids=ids, names=names, categories=categories, priorities=priorities
        )
    return load_page(session, start, end, type_ids, page, page_size)
