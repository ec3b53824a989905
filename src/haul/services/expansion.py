"""Applies the pure expansion planner to finished LISTs, in batches.

A batch of results can finish many path jobs' LISTs (one-file jobs: a LIST
each); ``expand_many`` reads, inserts and marks them with shared statements,
the same decisions per job as one at a time.
"""

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
# What planning reads of the jobs: read here, not from ORM objects, since
# the result path holds none (loading one per LIST was a tenth of the drain
# of many one-file jobs).
_JOBS = select(
    _J.id,
    _J.expanded,
    _J.type_name,
    _J.cancelled,
    _J.type,
    _J.src_filepath,
    _J.dst_filepath,
    _J.user_id,
    _J.priority,
    _J.max_tries,
).where(_J.id.in_(bindparam("x_jobs", expanding=True))).order_by(_J.id)
# Lock and re-read the jobs on PostgreSQL, in id order: a cancel committed
# since this transaction first read one would otherwise be missed, and the
# elements added here would stay NEW under a cancelled job forever. The
# control verbs take the same lock first, so whichever commits second sees
# the other's work. (SQLite's BEGIN IMMEDIATE already serialises the two.)
_JOBS_LOCKED = _JOBS.with_for_update()
_EXPANDED = (
    update(Job.__table__)
    .where(_J.id.in_(bindparam("x_jobs", expanding=True)))
    .values(expanded=True)
)
_KINDS = (JobType.COPY, JobType.REMOVE, JobType.RENAME)


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
    return expand_many(session, [(job, list_element, attempt, entries)]).get(job.id, 0)


def expand_many(
    session: Session,
    lists: list[tuple[Any, Any, int, Iterable[tuple[str, Any]] | None]],
) -> dict[int, int]:
    """``expand`` for several jobs' LISTs, (job, LIST element, attempt, entries)
    each: one read (locking on PostgreSQL) of the jobs, shared INSERTs of
    their elements, one UPDATE marking them expanded. Per job, how many
    elements it gained (jobs not expanded here: 0 or absent)."""
    if not lists:
        return {}
    conn = session.connection()
    ids = sorted({job.id for job, _, _, _ in lists})
    stmt = _JOBS_LOCKED if locks_rows(conn) else _JOBS
    jobs = {row.id: row for row in conn.execute(stmt, {"x_jobs": ids})}
    out: dict[int, int] = {}
    marked: list[int] = []
    rows: list[tuple[Any, ...]] = []
    now = utcnow()
    for job, list_element, attempt, entries in lists:
        row = jobs.get(job.id)
        if row is None or row.expanded or row.type_name is not None or job.id in out:
            continue
        out[job.id] = 0
        if row.cancelled:
            # A job cancelled while its LIST ran takes on no new work.
            marked.append(job.id)
            continue
        if JobType(row.type) not in _KINDS:
            continue
        pairs = (
            entries
            if entries is not None
            else ((e.directory, e) for e in iter_entries(session, job.id, list_element.id, attempt))
        )
        for element in _planned(row, job.id, list_element.id + 1, pairs, now):
            rows.append(element)
            out[job.id] += 1
            if len(rows) >= BATCH:
                insert_rows(session, _ELEMENTS, COLUMNS, rows)
                rows = []
        marked.append(job.id)
    insert_rows(session, _ELEMENTS, COLUMNS, rows)
    if marked:
        conn.execute(_EXPANDED, {"x_jobs": sorted(marked)})
    return out


def _planned(
    row: Any, job_id: int, next_id: int, pairs: Iterable[tuple[str, Any]], now: Any
) -> Iterable[tuple[Any, ...]]:
    """The job's planned elements as rows of ``COLUMNS``, from ``next_id`` on."""
    planner = Planner(JobType(row.type), row.src_filepath or "", row.dst_filepath)
    user_id, priority, max_tries, new = row.user_id, row.priority, row.max_tries, int(JobStatus.NEW)
    for plan in planner.plan(pairs):
        yield (
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
        next_id += 1
