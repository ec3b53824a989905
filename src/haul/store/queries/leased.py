"""The guard every report's element UPDATE carries, and its set-based form per job.

A report may change an element only while the element is still leased under
the token the report carries: every UPDATE of a report (a result's,
``results.py``; a heartbeat's, ``heartbeats.py``; the reaper's,
``lease_lost.py``) names that token and the statuses it expects, and says
(``RETURNING``, or its row count) which rows it changed, so a row that the
reaper or a control verb changed meanwhile is not matched.

The result path runs these statements for every batch a worker sends, so
they are built once, with list parameters for the batch's ids and tokens
(``dialect.in_values``: an array on PostgreSQL, an expanding ``IN`` on
SQLite): SQLAlchemy then compiles each statement once and only expands its
``IN`` lists per execution, where building ``.where(... in_([...]))`` anew
cost more than the database's own work for a batch of a few dozen results.
They run on the session's connection (Core, no ORM bookkeeping).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Update, bindparam, literal_column, update
from sqlalchemy.orm import Session

from haul.domain.enums import LEASED
from haul.store.dialect import in_values
from haul.store.keyed_elements import CHUNK, ELEMENTS

E = ELEMENTS.c
# The statuses a report expects, inlined: an executemany cannot bind an IN list.
LEASED_STATUS = E.status.in_([literal_column(str(v)) for v in LEASED])
# Every per-element (executemany) UPDATE of a report carries this guard.
TOKEN_GUARD = (E.lease_token == bindparam("k_token"), LEASED_STATUS)


def guarded_update(**values: Any) -> Update:
    """An UPDATE of one job's elements still leased under their tokens; RETURNING ids.

    Build it once (at import) and run it with ``write_leased``; ``values``
    may use bind parameters, whose values ``write_leased`` is given.
    """
    return (
        update(ELEMENTS)
        .where(
            E.job_id == bindparam("g_job"),
            in_values(E.id, "g_ids"),
            in_values(E.lease_token, "g_tokens"),
            LEASED_STATUS,
        )
        .values(**values)
        .returning(E.id)
    )


def write_leased(
    session: Session,
    stmt: Update,
    job_id: int,
    items: list[tuple[int, str]],
    params: dict[str, Any],
) -> list[int]:
    """Runs a ``guarded_update`` for (element id, token) items of one job; the ids it changed.

    In chunks (two parameters per element). Callers pass items in element
    order, the order every writer locks rows in, so two writers never
    deadlock on them. Each item's token was checked against its row when the
    row was read; the guard makes sure that neither changed since.
    """
    conn = session.connection()
    done: list[int] = []
    step = CHUNK // 2
    for start in range(0, len(items), step):
        part = items[start : start + step]
        result = conn.execute(
            stmt,
            {
                "g_job": job_id,
                "g_ids": [i for i, _ in part],
                "g_tokens": [t for _, t in part],
                **params,
            },
        )
        done.extend(result.scalars())
    return done
