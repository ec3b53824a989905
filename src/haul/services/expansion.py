"""Applies the pure expansion planner to a finished LIST, in batches."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from haul.domain.enums import JobStatus, JobType
from haul.domain.expansion import Planner
from haul.services.listings import iter_entries
from haul.store.bulk import insert_rows
from haul.store.clock import utcnow
from haul.store.dialect import locks_rows
from haul.store.tables import Element, Job

BATCH = 5000
_ELEMENTS = Element.__table__
# The columns every planned element is inserted with (file_jobs.py adds its spec).
COLUMNS = (
    "job_id",
    "id",
    "user_id",
    "type",
    "status",
    "priority",
    "src_filepath",
    "dst_filepath",
    "size",
    "max_tries",
    "stage",
    "attempts",
    "attempt_seq",
    "timestamp",
)


_J = Job.__table__.c
# What planning reads of the job: read here, not from an ORM object, since
# the result path holds none (loading one per LIST was a tenth of the drain
# of many one-file jobs).
_JOB = select(
    _J.expanded,
    _J.type_name,
    _J.cancelled,
    _J.type,
    _J.src_filepath,
    _J.dst_filepath,
    _J.user_id,
    _J.priority,
    _J.max_tries,
).where(_J.id == bindparam("x_job"))
# Lock and re-read the job on PostgreSQL: a cancel committed since this
# transaction first read it would otherwise be missed, and the elements
# added here would stay NEW under a cancelled job forever. The control verbs
# take the same lock first, so whichever commits second sees the other's
# work. (SQLite's BEGIN IMMEDIATE already serialises the two.)
_JOB_LOCKED = _JOB.with_for_update()
_EXPANDED = update(Job.__table__).where(_J.id == bindparam("x_job")).values(expanded=True)


def expand(
    session: Session,
    job: Any,
    list_element: Any,
    attempt: int,
    entries: Iterable[tuple[str, Any]] | None = None,
) -> int:
    """Adds the job's per-file elements after its LIST; returns how many.

    ``job`` and ``list_element``: anything with their ``id`` (a plain row, an
    ORM object); the job's columns are read afresh here. ``entries``: the
    (directory, entry) pairs just stored, when the caller still holds them;
    otherwise they are streamed back from the store.
    """
    conn = session.connection()
    row = conn.execute(_JOB_LOCKED if locks_rows(conn) else _JOB, {"x_job": job.id}).first()
    if row is None or row.expanded or row.type_name is not None:
        return 0
    if row.cancelled:
        # A job cancelled while its LIST ran takes on no new work.
        conn.execute(_EXPANDED, {"x_job": job.id})
        return 0
    job_type = JobType(row.type)
    if job_type not in (JobType.COPY, JobType.REMOVE, JobType.RENAME):
        return 0
    planner = Planner(job_type, row.src_filepath or "", row.dst_filepath)
    pairs = (
        entries
        if entries is not None
        else ((e.directory, e) for e in iter_entries(session, job.id, list_element.id, attempt))
    )
    next_id = list_element.id + 1
    job_id, user_id, priority, max_tries = job.id, row.user_id, row.priority, row.max_tries
    new, now = int(JobStatus.NEW), utcnow()
    rows: list[tuple[Any, ...]] = []
    n = 0
    for plan in planner.plan(pairs):
        rows.append(
            (
                job_id,
                next_id,
                user_id,
                int(plan.type),
                new,
                priority,
                plan.src_filepath,
                plan.dst_filepath,
                plan.size,
                max_tries,
                plan.stage,
                0,
                0,
                now,
            )
        )
        next_id += 1
        n += 1
        if len(rows) >= BATCH:
            insert_rows(session, _ELEMENTS, COLUMNS, rows)
            rows = []
    insert_rows(session, _ELEMENTS, COLUMNS, rows)
    conn.execute(_EXPANDED, {"x_job": job.id})
    return n
