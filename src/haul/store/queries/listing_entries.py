"""A stored listing's SQL (``services/listings.py``): its rows written in batches,
read back in the order reported, and counted.

Plain rows rather than ORM objects: a listing can hold a million entries.
Pages are read by ``seq`` (greater than the last one read), not by OFFSET,
so streaming a huge listing stays linear.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haul.store.bulk import insert_rows
from haul.store.tables import ListingEntry

_ENTRIES = ListingEntry.__table__
COLUMNS = (
    "job_id",
    "element_id",
    "attempt",
    "seq",
    "directory",
    "name",
    "is_dir",
    "size",
    "mtime",
    "is_link",
)


def add_entries(session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
    """Appends rows of ``COLUMNS``' values."""
    insert_rows(session, _ENTRIES, COLUMNS, rows)


def entries_after(
    session: Session, job_id: int, element_id: int, attempt: int, last: int, limit: int
) -> list[Any]:
    """Up to ``limit`` entries after ``seq`` ``last``, in the order reported."""
    c = _ENTRIES.c
    return list(
        session.execute(
            select(c.seq, c.directory, c.name, c.is_dir, c.size, c.mtime, c.is_link)
            .where(
                c.job_id == job_id,
                c.element_id == element_id,
                c.attempt == attempt,
                c.seq > last,
            )
            .order_by(c.seq)
            .limit(limit)
        )
    )


def entry_count(session: Session, job_id: int, element_id: int, attempt: int) -> int:
    c = _ENTRIES.c
    return (
        session.scalar(
            select(func.count()).where(
                c.job_id == job_id, c.element_id == element_id, c.attempt == attempt
            )
        )
        or 0
    )
