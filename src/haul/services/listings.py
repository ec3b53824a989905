"""Listings, one row per entry, so huge directories stay cheap to store and page.

Workers report a listing in pdm's shape, a mapping from each directory to its
entries; the API answers in the same shape.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.limits import LISTING
from haul.services.errors import BadRequest
from haul.store.queries import listing_entries as queries
from haul.store.queries.element_reads import latest_done_attempt

BATCH = 5000
MAX_ENTRIES = 2_000_000


def parse_listing(listing: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Checks a worker's listing and yields (directory, entry) pairs."""
    if not isinstance(listing, dict):
        raise BadRequest("listing: must be an object mapping directories to entry lists")
    for directory, entries in listing.items():
        if not isinstance(entries, list):
            raise BadRequest(f"listing[{directory!r}]: must be a list of entries")
        if not _encodable(directory):
            raise BadRequest(f"listing[{directory!r}]: must be valid Unicode (no lone surrogates)")
        for entry in entries:
            if isinstance(entry, str):
                entry = {"name": entry}
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise BadRequest(f"listing[{directory!r}]: each entry needs a string 'name'")
            if "\x00" in directory or "\x00" in entry["name"]:
                raise BadRequest(f"listing[{directory!r}]: names must not contain NUL")
            if not _encodable(entry["name"]):
                raise BadRequest(
                    f"listing[{directory!r}]: names must be valid Unicode (no lone surrogates)"
                )
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


def _encodable(text: str) -> bool:
    """Storable as UTF-8 (a lone surrogate from a non-UTF-8 name is not)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _mtime(value: Any) -> float | None:
    """A finite number of seconds, or nothing (NaN would break every JSON answer)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an int too large for a float
            return None
        return seconds if math.isfinite(seconds) else None
    return None


def check_listing(listing: Any) -> list[tuple[str, dict[str, Any]]]:
    """The whole listing checked before anything is written, so a bad one fails only its item."""
    entries: list[tuple[str, dict[str, Any]]] = []
    for pair in parse_listing(listing):
        entries.append(pair)
        if len(entries) > MAX_ENTRIES:
            raise BadRequest(f"listing: more than {MAX_ENTRIES} entries")
    return entries


def store_listing(
    session: Session,
    job_id: int,
    element_id: int,
    attempt: int,
    entries: Iterable[tuple[str, dict[str, Any]]],
) -> int:
    """Stores checked (directory, entry) pairs (see ``check_listing``)."""
    return store_listings(session, [(job_id, element_id, attempt, entries)])[0]


def store_listings(
    session: Session,
    listings: list[tuple[int, int, int, Iterable[tuple[str, dict[str, Any]]]]],
) -> list[int]:
    """Stores several LISTs' checked pairs, (job, element, attempt, pairs) each, in
    shared INSERTs (a batch of one-file jobs' LISTs is one statement, not one per
    job); how many entries each had."""
    rows: list[tuple[Any, ...]] = []
    counts: list[int] = []
    for job_id, element_id, attempt, entries in listings:
        seq = 0
        for directory, entry in entries:
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
            if len(rows) >= BATCH:
                queries.add_entries(session, rows)
                rows = []
        counts.append(seq)
    queries.add_entries(session, rows)
    return counts


def iter_entries(
    session: Session,
    job_id: int,
    element_id: int,
    attempt: int,
    offset: int = 0,
    limit: int | None = None,
) -> Iterable[Any]:
    """Entries in the order reported, from the ``offset``-th on, streamed in batches
    (bounded memory); at most ``limit`` of them."""
    last = offset - 1
    left = limit
    while left is None or left > 0:
        size = BATCH if left is None else min(BATCH, left)
        batch = queries.entries_after(session, job_id, element_id, attempt, last, size)
        if not batch:
            return
        yield from batch
        last = batch[-1].seq
        if left is not None:
            left -= len(batch)


def render_listing(
    session: Session,
    job_id: int,
    element_id: int,
    attempt: int,
    offset: int = 0,
    limit: int = LISTING.default,
) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """A page of the listing in pdm's shape, and how many entries the whole listing has."""
    out: dict[str, list[dict[str, Any]]] = {}
    n = 0
    for e in iter_entries(session, job_id, element_id, attempt, offset, limit):
        n += 1
        row = {"name": e.name, "size": e.size, "is_dir": e.is_dir, "mtime": e.mtime}
        if e.is_link:
            row["is_link"] = True
        out.setdefault(e.directory, []).append(row)
    # Counting costs a scan of the entries: only when the page does not tell.
    total = offset + n if 0 < n < limit or (n == 0 and offset == 0) else None
    if total is None:
        total = queries.entry_count(session, job_id, element_id, attempt)
    return out, total


def latest_listing(
    session: Session,
    job_id: int,
    element_id: int,
    offset: int = 0,
    limit: int = LISTING.default,
) -> tuple[dict[str, list[dict[str, Any]]], int] | None:
    """A page of a LIST's listing as its latest DONE attempt stored it (None: no such
    attempt), and how many entries it has: what a finished LIST element shows."""
    n = latest_done_attempt(session, job_id, element_id)
    if n is None:
        return None
    return render_listing(session, job_id, element_id, n, offset, limit)
