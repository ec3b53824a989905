"""Applies the pure expansion planner to a finished LIST, in batches."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from haul.domain.enums import JobStatus, JobType
from haul.domain.expansion import Planner
from haul.services.listings import iter_entries
from haul.store.tables import Element, Job

BATCH = 5000
_ELEMENTS = Element.__table__  # Core inserts: no ORM bookkeeping per planned row


def expand(session: Session, job: Job, list_element: Element, attempt: int) -> int:
    """Adds the job's per-file elements after its LIST; returns how many."""
    if job.expanded or job.type_name is not None:
        return 0
    if job.cancelled:
        # A job cancelled while its LIST ran takes on no new work.
        job.expanded = True
        return 0
    job_type = JobType(job.type)
    if job_type not in (JobType.COPY, JobType.REMOVE, JobType.RENAME):
        return 0
    planner = Planner(job_type, job.src_filepath or "", job.dst_filepath)
    pairs = ((e.directory, e) for e in iter_entries(session, job.id, list_element.id, attempt))
    next_id = list_element.id + 1
    rows: list[dict[str, Any]] = []
    n = 0
    for plan in planner.plan(pairs):
        rows.append(
            {
                "job_id": job.id,
                "id": next_id,
                "user_id": job.user_id,
                "type": int(plan.type),
                "status": int(JobStatus.NEW),
                "priority": job.priority,
                "src_filepath": plan.src_filepath,
                "dst_filepath": plan.dst_filepath,
                "size": plan.size,
                "max_tries": job.max_tries,
                "stage": plan.stage,
            }
        )
        next_id += 1
        n += 1
        if len(rows) >= BATCH:
            session.execute(insert(_ELEMENTS), rows)
            rows = []
    if rows:
        session.execute(insert(_ELEMENTS), rows)
    job.expanded = True
    return n
