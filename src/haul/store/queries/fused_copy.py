"""A fused copy's SQL (``services/fused_copy.py``): element 1 as the expansion planned
it, the worker that held the LIST's lease, and element 1's write after its
nested result is judged. Built once: they run on the result path."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from haul.store.keyed_elements import ELEMENTS, keyed_update
from haul.store.queries.results import RESULT_COLUMNS, Outcome

FILE_ID = 1  # a path job's first planned element (element 0 is its LIST)
_E = ELEMENTS.c
# The planned file is judged as a result is: it reads what a result's judging reads.
_PLANNED = select(*RESULT_COLUMNS).where(_E.job_id == bindparam("f_job"), _E.id == FILE_ID)
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
_LIST_WORKER = select(_E.worker_id).where(_E.job_id == bindparam("f_job"), _E.id == 0)


def planned_file(session: Session, job_id: int) -> Any:
    """Element 1's row as judging reads it (None: the expansion planned none)."""
    return session.connection().execute(_PLANNED, {"f_job": job_id}).first()


def list_worker(session: Session, job_id: int) -> int | None:
    """The worker that held the job's LIST (element 0)."""
    return session.connection().execute(_LIST_WORKER, {"f_job": job_id}).scalar()


def write_file(session: Session, outcome: Outcome, worker_id: int | None, started: Any) -> None:
    """Element 1's outcome, leased to the LIST's worker since the LIST's start.

    No lease guard: this very transaction's expansion planned the row, so no
    other writer has seen it.
    """
    params = {**outcome.params(), "v_worker": worker_id, "v_started": started}
    session.connection().execute(_WRITE, params)
