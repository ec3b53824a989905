"""Reading jobs and their elements back, as seed 000 describes.

Every read filters by owner: another user's job is indistinguishable from a
job that does not exist (404), on every route.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from haul.domain.enums import JobStatus, JobType, Role
from haul.domain.job_status import LEASED_STATUSES, ElementCounts, FileTally, job_status
from haul.domain.ownership import may_act_on
from haul.services.errors import Forbidden, NotFound
from haul.store.clock import as_utc
from haul.store.queries import job_reads as queries
from haul.store.tables import Attempt, Element, Job, User


@dataclass
class JobView:
    job: Job
    counts: dict[JobStatus, int]

    @property
    def files(self) -> FileTally | None:
        """None when only the status counts were read (status polls, ownership checks)."""
        return getattr(self.counts, "files", None)

    @property
    def status(self) -> JobStatus:
        return job_status(self.counts, cancelled=self.job.cancelled, paused=self.job.paused)


def new_view(job: Job) -> JobView:
    """A job just created: every element it has is NEW, so no count is read back."""
    n = int((job.params or {}).get("files", 1))
    counts = ElementCounts({JobStatus.NEW: n})
    # Its files: a LIST or MKDIR is its one element, a job listing its files has
    # them all; anything else has only the LIST that will find them.
    listed = job.type in (JobType.LIST, JobType.MKDIR) or "files" in (job.params or {})
    counts.files = FileTally(
        num_files=n if listed else 0,
        bytes_total=0 if job.type == JobType.COPY else None,
        bytes_done=0 if job.type == JobType.COPY else None,
    )
    return JobView(job, counts)


def counts_for(session: Session, job_ids: list[int]) -> dict[int, ElementCounts]:
    """Each job's elements by status, with its FileTally, in one grouped query.

    A second, small query reads the byte counts of running COPY elements, and
    only when some job has one (they are at most the workers' slots).
    """
    out: dict[int, ElementCounts] = defaultdict(ElementCounts)
    if not job_ids:
        return out
    tallies: dict[int, dict[str, int]] = {}
    started: dict[int, datetime] = {}
    copying: list[int] = []
    for job_id, job_type, status, file_row, n, size, first in queries.grouped_counts(
        session, job_ids
    ):
        counts = out[job_id]
        counts[JobStatus(status)] = counts.get(JobStatus(status), 0) + n
        t = tallies.setdefault(job_id, {"files": 0, "done": 0, "failed": 0, "total": 0,
                                        "moved": 0, "copy": int(job_type == JobType.COPY)})
        if not file_row:
            continue
        first = as_utc(first)
        if first is not None and (job_id not in started or first < started[job_id]):
            started[job_id] = first
        t["files"] += n
        t["total"] += int(size or 0)
        if status == JobStatus.DONE:
            t["done"] += n
            t["moved"] += int(size or 0)
        elif status == JobStatus.FAILED:
            t["failed"] += n
        elif status in LEASED_STATUSES and t["copy"]:
            copying.append(job_id)
    if copying:
        for job_id, progress in queries.copy_progress(session, copying):
            moved = (progress or {}).get("transferred") if isinstance(progress, dict) else None
            if isinstance(moved, int | float) and moved > 0:
                tallies[job_id]["moved"] += int(moved)
    for job_id, t in tallies.items():
        out[job_id].files = FileTally(
            num_files=t["files"],
            files_done=t["done"],
            files_failed=t["failed"],
            bytes_total=t["total"] if t["copy"] else None,
            bytes_done=min(t["moved"], t["total"]) if t["copy"] else None,
            started=started.get(job_id),
        )
    return out


def get_job(session: Session, user: User, job_id: int, *, files: bool = False) -> JobView:
    """The job with its element counts; with ``files`` its FileTally too.

    Status polls and ownership checks take the cheap path (one prebuilt count
    statement); answers that carry the job's JSON ask for ``files``.
    """
    job = queries.one_job(session, job_id)
    # Admins read every job (they may steer any job too); a user only their own.
    if job is None or not may_act_on(job.user_id, user.id, user.role):
        raise NotFound(f"job {job_id}: no such job")
    if files:
        return JobView(job, counts_for(session, [job_id]).get(job_id, ElementCounts()))
    return JobView(job, {JobStatus(s): n for s, n in queries.status_counts(session, job_id)})


def list_jobs(
    session: Session,
    user: User,
    *,
    statuses: list[JobStatus] | None = None,
    types: list[JobType] | None = None,
    limit: int = 100,
    offset: int = 0,
    owner: int | None | Literal["all"] = None,
    submitted_since: datetime | None = None,
    ended_since: datetime | None = None,
) -> tuple[list[JobView], int]:
    """Jobs newest first. Status is derived, so a status filter is applied after it.

    ``owner`` (admins only): a user id, or "all"; everyone else sees only their own.
    """
    if owner is not None and user.role != Role.ADMIN:
        raise Forbidden("all and user_id: only admins list other users' jobs")
    q = queries.jobs_query(
        user_id=user.id if owner is None else None if owner == "all" else owner,
        types=[int(t) for t in types or []],
        submitted_since=submitted_since,
        ended_since=ended_since,
    )
    if not statuses:
        total = queries.count_of(session, q)
        jobs = queries.page_of(session, q, limit, offset)
        counts = counts_for(session, [j.id for j in jobs])
        return [JobView(j, counts.get(j.id, {})) for j in jobs], total
    # The status of every job the filters select, from plain rows; only the
    # page asked for is loaded as objects with its file tallies.
    flags, element_counts = queries.status_inputs(session, q)
    by_job: dict[int, dict[JobStatus, int]] = defaultdict(dict)
    for job_id, status, n in element_counts:
        by_job[job_id][JobStatus(status)] = n
    wanted = set(statuses)
    matched = [
        job_id
        for job_id, cancelled, paused in flags
        if job_status(by_job.get(job_id, {}), cancelled=cancelled, paused=paused) in wanted
    ]
    page = matched[offset : offset + limit]
    jobs = queries.jobs_by_id(session, page)
    counts = counts_for(session, page)
    return [JobView(jobs[i], counts.get(i, {})) for i in page if i in jobs], len(matched)


def get_element(session: Session, user: User, job_id: int, element_id: int) -> Element:
    get_job(session, user, job_id)
    element = queries.element(session, job_id, element_id)
    if element is None:
        raise NotFound(f"job {job_id} has no element {element_id}")
    return element


def list_elements(
    session: Session, user: User, job_id: int, *, limit: int, offset: int
) -> tuple[list[Element], int]:
    get_job(session, user, job_id)
    total = queries.element_count(session, job_id)
    return queries.element_page(session, job_id, limit, offset), total


def latest_attempts(
    session: Session, user: User, job_id: int, *, limit: int, offset: int
) -> tuple[list[tuple[Element, Attempt]], int]:
    """The latest attempt of a page of the job's elements that have one, and how many have."""
    get_job(session, user, job_id)
    total = queries.tried_count(session, job_id)
    return queries.latest_attempt_page(session, job_id, limit, offset), total


def element_attempt(
    session: Session, user: User, job_id: int, element_id: int, attempt: int | None
) -> tuple[Element, Attempt]:
    """One attempt; None means the latest, a negative number counts from the last."""
    element = get_element(session, user, job_id, element_id)
    numbers = queries.attempt_numbers(session, job_id, element_id)
    if not numbers:
        raise NotFound(f"element {job_id}.{element_id} has no output yet")
    if attempt is None:
        n = numbers[-1]
    elif attempt < 0:
        if -attempt > len(numbers):
            raise NotFound(f"element {job_id}.{element_id} has only {len(numbers)} attempts")
        n = numbers[attempt]
    else:
        if attempt not in numbers:
            raise NotFound(f"element {job_id}.{element_id} has no attempt {attempt}")
        n = attempt
    row = queries.attempt(session, job_id, element_id, n)
    assert row is not None
    return element, row
