"""Applies the pure expansion planner to a finished LIST, in batches."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import JobStatus, JobType
from haul.domain.expansion import Planner
from haul.services.listings import iter_entries
from haul.store.bulk import insert_rows
from haul.store.clock import utcnow
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


def expand(
    session: Session,
    job: Job,
    list_element: Element,
    attempt: int,
    entries: Iterable[tuple[str, Any]] | None = None,
) -> int:
    """Adds the job's per-file elements after its LIST; returns how many.

    ``entries``: the (directory, entry) pairs just stored, when the caller
    still holds them; otherwise they are streamed back from the store.
    """
    if job.expanded or job.type_name is not None:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        # Lock and re-read the job: a cancel committed since this transaction
        # read it would otherwise be missed, and the elements added here would
        # stay NEW under a cancelled job forever. The control verbs take the
        # same lock first, so whichever commits second sees the other's work.
        session.refresh(job, with_for_update=True)
        if job.expanded:
            return 0
    if job.cancelled:
        # A job cancelled while its LIST ran takes on no new work.
        job.expanded = True
        return 0
    job_type = JobType(job.type)
    if job_type not in (JobType.COPY, JobType.REMOVE, JobType.RENAME):
        return 0
    planner = Planner(job_type, job.src_filepath or "", job.dst_filepath)
    pairs = (
        entries
        if entries is not None
        else ((e.directory, e) for e in iter_entries(session, job.id, list_element.id, attempt))
    )
    next_id = list_element.id + 1
    # Per-job values, read once: ORM attribute access per planned row adds up.
    job_id, user_id, priority, max_tries = job.id, job.user_id, job.priority, job.max_tries
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
    job.expanded = True
    return n
