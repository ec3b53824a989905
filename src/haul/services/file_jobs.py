"""The elements of a job that lists its files: one per file, made at submission.

No LIST runs for such a job: the caller named every file, so each becomes an
element in the order given (element ``i`` is ``files[i]``) and the job is
expanded from the start. Rows go in batches as the list is checked, so a
100,000-file request never holds a second copy of itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from haul.domain import file_lists
from haul.domain.enums import JobStatus, JobType
from haul.services.errors import BadRequest, TooLarge
from haul.services.expansion import COLUMNS
from haul.store.bulk import insert_rows
from haul.store.clock import utcnow
from haul.store.tables import Element, Job

BATCH = 5000
_COLUMNS = (*COLUMNS, "spec")


def check_listing(job_type: JobType, files: Any, src_filepath: Any, dst_filepath: Any) -> None:
    """The refusals that need no database: wrong type, both forms, empty, too many."""
    if job_type not in (JobType.COPY, JobType.REMOVE):
        raise BadRequest(f"files: only COPY and REMOVE take a list of files, not {job_type.name}")
    if src_filepath is not None or dst_filepath is not None:
        raise BadRequest("files: give either files or src_filepath/dst_filepath, not both")
    try:
        file_lists.check_count(files)
    except file_lists.TooManyFiles as exc:
        raise TooLarge(str(exc)) from exc
    except file_lists.FileListError as exc:
        raise BadRequest(str(exc)) from exc


def add_listed(
    session: Session, job: Job, files: list[Any], check_site: Callable[[int, str], None]
) -> int:
    """Inserts one element per listed file; returns how many. Bad input is a 400.

    ``check_site(site_id, field)``: refuses a replica's site the submitter may
    not read from (as for the job's own source); each site is checked once.
    """
    checked: set[int] = {job.src_siteid} if job.src_siteid is not None else set()
    element_type = JobType(job.type)
    new, now = int(JobStatus.NEW), utcnow()
    # Per-job values, read once: ORM attribute access per row adds up.
    job_id, user_id, priority, max_tries = job.id, job.user_id, job.priority, job.max_tries
    kind = int(element_type)
    rows: list[tuple[Any, ...]] = []
    n = 0
    try:
        for n, f in enumerate(file_lists.parse(files, copy=element_type == JobType.COPY)):
            spec = f.expectation()
            if f.metadata is not None:
                spec = (spec or {}) | {"metadata": f.metadata}
            if f.sources:
                for j, (site_id, _) in enumerate(f.sources):
                    if site_id not in checked:
                        check_site(site_id, f"files[{n}].sources[{j}].siteid")
                        checked.add(site_id)
                spec = (spec or {}) | {
                    "sources": [{"siteid": s, "filepath": p} for s, p in f.sources]
                }
            rows.append(
                (
                    job_id,
                    n,
                    user_id,
                    kind,
                    new,
                    priority,
                    f.src_filepath,
                    f.dst_filepath,
                    f.filesize or 0,
                    max_tries,
                    0,
                    0,
                    0,
                    now,
                    spec,
                )
            )
            if len(rows) >= BATCH:
                insert_rows(session, Element.__table__, _COLUMNS, rows)
                rows = []
    except file_lists.FileListError as exc:
        raise BadRequest(str(exc)) from exc
    insert_rows(session, Element.__table__, _COLUMNS, rows)
    return n + 1  # (the job row says it is expanded: services.jobs.submit)
