"""A fused copy's SQL (``services/fused_copy.py``): element 1 as the expansion planned
it, the worker that held the LIST's lease, and element 1's write after its
nested result is judged. Built once: they run on the result path, for a
batch's jobs together (a batch of one-file jobs' LIST results is a few
statements, not three per job)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm import Session

from haul.store.keyed_elements import ELEMENTS, keyed_update, load_rows
from haul.store.queries.results import RESULT_COLUMNS, Outcome

FILE_ID = 1  # a path job's first planned element (element 0 is its LIST)
_E = ELEMENTS.c
_WRITE = keyed_update(
    status=bindparam("v_status"),
    attempts=bindparam("v_attempts"),
    attempt_seq=bindparam("v_seq"),
    timestamp=bindparam("v_now"),
    checksum=bindparam("v_checksum"),
    size=bindparam("v_size"),
    not_before=bindparam("v_not_before"),
    mode=bindparam("v_mode"),
    worker_id=bindparam("v_worker"),
    started=bindparam("v_started"),
)


# The planned file is judged as a result is: it reads what a result's judging
# reads; of the LIST, the worker.
_BOTH = (*RESULT_COLUMNS, _E.worker_id)


def planned_files(
    session: Session, job_ids: list[int]
) -> dict[int, tuple[Any | None, int | None]]:
    """Per job, element 1's row as judging reads it (None: the expansion planned
    none) and the worker that held its LIST (element 0): one read for the lot."""
    rows = load_rows(session, [(j, i) for j in job_ids for i in (0, FILE_ID)], _BOTH)
    out: dict[int, tuple[Any | None, int | None]] = {}
    for j in job_ids:
        listed = rows.get((j, 0))
        out[j] = (rows.get((j, FILE_ID)), listed.worker_id if listed is not None else None)
    return out


def write_file(session: Session, outcome: Outcome, worker_id: int | None, started: Any) -> None:
    """Element 1's outcome, leased to the LIST's worker since the LIST's start.

    No lease guard: this very transaction's expansion planned the row, so no
    other writer has seen it.
    """
    write_files(session, [(outcome, worker_id, started)])


def write_files(session: Session, files: list[tuple[Outcome, int | None, Any]]) -> None:
    """``write_file`` for many jobs' element 1, (outcome, worker, started) each: one
    executemany, in key order."""
    if not files:
        return
    params = [
        {**o.params(), "v_worker": worker_id, "v_started": started}
        for o, worker_id, started in sorted(files, key=lambda f: (f[0].job_id, f[0].element_id))
    ]
    session.connection().execute(_WRITE, params)
