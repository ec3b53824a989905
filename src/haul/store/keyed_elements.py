"""Element rows read and written in batches, by their (job_id, id) key.

The claim, result and heartbeat paths touch thousands of elements a second;
plain Core rows and ``executemany`` updates keyed by bind parameters keep the
cost per element to a few microseconds, where ORM objects cost far more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, Update, bindparam, select, update
from sqlalchemy.orm import Session

from haul.store.dialect import in_values
from haul.store.key_groups import rectangles
from haul.store.tables import Element

ELEMENTS = Element.__table__
CHUNK = 900  # stays under every driver's bound-parameter limit


def keyed_update(**values: Any) -> Update:
    """An UPDATE of one element per parameter set; rows carry ``k_job``/``k_id``."""
    return (
        update(ELEMENTS)
        .where(ELEMENTS.c.job_id == bindparam("k_job"), ELEMENTS.c.id == bindparam("k_id"))
        .values(**values)
    )


_SELECTS: dict[tuple[str, ...], Select[Any]] = {}


def _rows_select(columns: Sequence[Any] | None) -> Select[Any]:
    """The SELECT of elements by job ids and element ids, built once per column set.

    Both are list parameters (``dialect.in_values``: arrays on PostgreSQL,
    expanding ``IN`` lists on SQLite), so SQLAlchemy compiles it once.
    """
    key = tuple(c.key for c in columns) if columns is not None else ("*",)
    found = _SELECTS.get(key)
    if found is None:
        keyed = [ELEMENTS.c.job_id, ELEMENTS.c.id]
        wanted = (
            [*keyed, *[c for c in columns if c.key not in ("job_id", "id")]]
            if columns is not None
            else [ELEMENTS]
        )
        found = _SELECTS[key] = select(*wanted).where(
            in_values(ELEMENTS.c.job_id, "r_jobs"),
            in_values(ELEMENTS.c.id, "r_ids"),
        )
    return found


def load_rows(
    session: Session, keys: list[tuple[int, int]], columns: Sequence[Any] | None = None
) -> dict[tuple[int, int], Any]:
    """The rows of these elements (all columns, or ``columns`` plus the key), one
    query per group of jobs asking for the same element ids (``key_groups``)."""
    stmt = _rows_select(columns)
    conn = session.connection()
    found: dict[tuple[int, int], Any] = {}
    for jobs, ids in rectangles(keys):
        for row in conn.execute(stmt, {"r_jobs": jobs, "r_ids": ids}):
            found[(row.job_id, row.id)] = row
    return found
