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
    """The SELECT of one job's elements by id, built once per column set.

    Its ids are an expanding bind parameter, so SQLAlchemy compiles it once
    and only expands the ``IN`` list per execution.
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
            ELEMENTS.c.job_id == bindparam("r_job"),
            ELEMENTS.c.id.in_(bindparam("r_ids", expanding=True)),
        )
    return found


def load_rows(
    session: Session, keys: list[tuple[int, int]], columns: Sequence[Any] | None = None
) -> dict[tuple[int, int], Any]:
    """The rows of these elements (all columns, or ``columns`` plus the key), a few
    queries per job."""
    stmt = _rows_select(columns)
    by_job: dict[int, list[int]] = {}
    for job_id, element_id in keys:
        by_job.setdefault(job_id, []).append(element_id)
    conn = session.connection()
    found: dict[tuple[int, int], Any] = {}
    for job_id, ids in by_job.items():
        for start in range(0, len(ids), CHUNK):
            result = conn.execute(stmt, {"r_job": job_id, "r_ids": ids[start : start + CHUNK]})
            for row in result:
                found[(job_id, row.id)] = row
    return found
