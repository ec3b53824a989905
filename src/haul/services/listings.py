"""Listings, one row per entry, so huge directories stay cheap to store and page.

Workers report a listing in pdm's shape, a mapping from each directory to its
entries; the API answers in the same shape.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haul.services.errors import BadRequest
from haul.store.bulk import insert_rows
from haul.store.tables import ListingEntry

BATCH = 5000
# Plain rows rather than ORM objects: a listing can hold a million entries.
_ENTRIES = ListingEntry.__table__
MAX_ENTRIES = 2_000_000


def parse_listing(listing: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Checks a worker's listing and yields (directory, entry) pairs."""
    if not isinstance(listing, dict):
        raise BadRequest("listing: must be an object mapping directories to entry lists")
    for directory, entries in listing.items():
        if not isinstance(entries, list):
            raise BadRequest(f"listing[{directory!r}]: must be a list of entries")
        for entry in entries:
            if isinstance(entry, str):
                entry = {"name": entry}
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise BadRequest(f"listing[{directory!r}]: each entry needs a string 'name'")
            if "\x00" in directory or "\x00" in entry["name"]:
                raise BadRequest(f"listing[{directory!r}]: names must not contain NUL")
            size = entry.get("size", 0)
            if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size < 2**63:
                raise BadRequest(f"listing[{directory!r}]: size of {entry['name']!r} is invalid")
            if not isinstance(entry.get("is_link", False), bool):
                raise BadRequest(
                    f"listing[{directory!r}]: is_link of {entry['name']!r} must be a boolean"
                )
            if entry.get("is_link") and entry.get("is_dir"):
                # A link is never a directory: nothing may walk or remove through it.
                entry = {**entry, "is_dir": False}
            yield directory, entry


def _mtime(value: Any) -> float | None:
    """A finite number of seconds, or nothing (NaN would break every JSON answer)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an int too large for a float
            return None
        return seconds if math.isfinite(seconds) else None
    return None


_ENTRY_COLUMNS = (
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


def store_listing(
    session: Session, job_id: int, element_id: int, attempt: int, listing: Any
) -> int:
    rows: list[tuple[Any, ...]] = []
    seq = 0
    for directory, entry in parse_listing(listing):
        rows.append(
            (
                job_id,
                element_id,
                attempt,
                seq,
                directory,
                entry["name"],
                bool(entry.get("is_dir", False)),
                int(entry.get("size", 0)),
                _mtime(entry.get("mtime")),
                bool(entry.get("is_link", False)),
            )
        )
        seq += 1
        if seq > MAX_ENTRIES:
            raise BadRequest(f"listing: more than {MAX_ENTRIES} entries")
        if len(rows) >= BATCH:
            insert_rows(session, _ENTRIES, _ENTRY_COLUMNS, rows)
            rows = []
    insert_rows(session, _ENTRIES, _ENTRY_COLUMNS, rows)
    return seq


def iter_entries(
    session: Session, job_id: int, element_id: int, attempt: int
) -> Iterable[Any]:
    """Entries in the order reported, streamed in batches (bounded memory)."""
    last = -1
    c = _ENTRIES.c
    while True:
        batch = list(
            session.execute(
                select(c.seq, c.directory, c.name, c.is_dir, c.size, c.mtime, c.is_link)
                .where(
                    c.job_id == job_id,
                    c.element_id == element_id,
                    c.attempt == attempt,
                    c.seq > last,
                )
                .order_by(c.seq)
                .limit(BATCH)
            )
        )
        if not batch:
            return
        yield from batch
        last = batch[-1].seq


def render_listing(
    session: Session, job_id: int, element_id: int, attempt: int
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for e in iter_entries(session, job_id, element_id, attempt):
        row = {"name": e.name, "size": e.size, "is_dir": e.is_dir, "mtime": e.mtime}
        if e.is_link:
            row["is_link"] = True
        out.setdefault(e.directory, []).append(row)
    return out
