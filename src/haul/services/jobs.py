"""Submitting jobs and reading them back, as seed 000 describes.

Every read filters by owner: another user's job is indistinguishable from a
job that does not exist (404), on every route.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from haul.domain.enums import PDM_DEFAULT_PROTOCOL, JobProtocol, JobStatus, JobType, Role
from haul.domain.job_status import LEASED_STATUSES, ElementCounts, FileTally, job_status
from haul.domain.limits import MAX_TRIES, PRIORITY
from haul.domain.options import OptionsError, validate_options
from haul.domain.paths import PathError, validate_submitted_path
from haul.services import file_jobs
from haul.services.bans import check_submit
from haul.services.errors import BadRequest, Forbidden, NotFound
from haul.services.sites import SiteView, get_site, require_credential
from haul.store.clock import as_utc
from haul.store.tables import Attempt, Element, Job, User


@dataclass
class JobSpec:
    type: JobType
    src_siteid: int | None = None
    dst_siteid: int | None = None
    src_filepath: str | None = None
    dst_filepath: str | None = None
    extra_opts: dict[str, Any] = field(default_factory=dict)
    priority: int = PRIORITY.default
    protocol: JobProtocol | None = None
    max_tries: int = MAX_TRIES.default
    metadata: dict[str, Any] | None = None
    submission_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    # COPY and REMOVE: the files themselves, instead of src_filepath/dst_filepath.
    files: list[Any] | None = None


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


def _path(value: str | None, field_name: str) -> str:
    if value is None:
        raise BadRequest(f"{field_name}: field required")
    try:
        return validate_submitted_path(value, field_name)
    except PathError as exc:
        raise BadRequest(str(exc)) from exc


def _site(session: Session, user: User, site_id: int, field_name: str) -> SiteView:
    """A site named in a submission; one the caller cannot see is bad input (400)."""
    try:
        return get_site(session, user, site_id, field_name)
    except NotFound as exc:
        raise BadRequest(exc.detail) from exc


def _choose_protocol(spec: JobSpec, src: SiteView, dst: SiteView | None) -> JobProtocol:
    common = set(src.protocols)
    if dst is not None:
        common &= dst.protocols
        if not common:
            # Cross-protocol copies are fine: the worker reads with one, writes with another.
            common = set(src.protocols)
    usable = src.protocols | (dst.protocols if dst else set())
    if spec.protocol == PDM_DEFAULT_PROTOCOL and spec.protocol not in usable:
        # pdm's WorkqueueClient sends GRIDFTP on every call whatever the sites
        # are; haul serves no GridFTP, so that default means "what they speak".
        return min(common)
    if spec.protocol is not None:
        if spec.protocol not in usable:
            names = ", ".join(sorted(p.name for p in usable))
            raise BadRequest(
                f"protocol: {spec.protocol.name} is not served by the job's sites (they speak "
                f"{names})"
            )
        return spec.protocol
    return min(common)


def find_submission(session: Session, user: User, submission_id: str) -> Job | None:
    return session.scalar(
        select(Job).where(Job.user_id == user.id, Job.submission_id == submission_id)
    )


def submit(session: Session, user: User, spec: JobSpec) -> tuple[Job, bool]:
    """Creates a job and its first element; returns (job, created)."""
    if spec.submission_id is not None:
        existing = session.scalar(
            select(Job).where(Job.user_id == user.id, Job.submission_id == spec.submission_id)
        )
        if existing is not None:
            return existing, False
    if not PRIORITY.holds(spec.priority):
        raise BadRequest(
            f"priority: must be between {PRIORITY.low} (most urgent) and {PRIORITY.high}"
        )
    if not MAX_TRIES.holds(spec.max_tries):
        raise BadRequest(f"max_tries: must be between {MAX_TRIES.low} and {MAX_TRIES.high}")
    try:
        opts = validate_options(spec.type, spec.extra_opts)
    except OptionsError as exc:
        raise BadRequest(str(exc)) from exc
    if spec.files is not None:
        file_jobs.check_listing(spec.type, spec.files, spec.src_filepath, spec.dst_filepath)
    if spec.src_siteid is None:
        raise BadRequest("src_siteid: field required")
    listed = spec.files is not None
    src_path = None if listed else _path(spec.src_filepath, "src_filepath")
    src = _site(session, user, spec.src_siteid, "src_siteid")
    dst: SiteView | None = None
    dst_path: str | None = None
    if spec.type == JobType.COPY:
        if spec.dst_siteid is None:
            raise BadRequest("dst_siteid: field required for COPY")
        dst_path = None if listed else _path(spec.dst_filepath, "dst_filepath")
        same = spec.dst_siteid == spec.src_siteid
        dst = src if same else _site(session, user, spec.dst_siteid, "dst_siteid")
    elif spec.type == JobType.RENAME:
        dst_path = _path(spec.dst_filepath, "dst_filepath")
        if spec.dst_siteid is not None and spec.dst_siteid != spec.src_siteid:
            raise BadRequest("dst_siteid: a RENAME stays on its source site")
        spec.dst_siteid = spec.src_siteid
    else:
        spec.dst_siteid = None
    protocol = _choose_protocol(spec, src, dst)
    check_submit(session, [src.site.id, dst.site.id if dst is not None else None])
    require_credential(session, user, src, "src_siteid")
    if dst is not None and dst.site.id != src.site.id:
        require_credential(session, user, dst, "dst_siteid")

    job = Job(
        user_id=user.id,
        type=int(spec.type),
        src_siteid=src.site.id,
        dst_siteid=spec.dst_siteid,
        src_filepath=src_path,
        dst_filepath=dst_path,
        extra_opts=opts,
        priority=spec.priority,
        protocol=int(protocol),
        max_tries=spec.max_tries,
        log_uid=secrets.token_hex(16),
        submission_id=spec.submission_id,
        meta=spec.metadata,
        params=spec.params,
    )
    session.add(job)
    session.flush()
    if spec.files is not None:

        def check_replica(site_id: int, field_name: str) -> None:
            view = _site(session, user, site_id, field_name)
            check_submit(session, [site_id])
            require_credential(session, user, view, field_name)

        file_jobs.add_listed(session, job, spec.files, check_replica)
        session.flush()
        return job, True
    first_type = JobType.MKDIR if spec.type == JobType.MKDIR else JobType.LIST
    # One INSERT, not the unit of work's: submitting is the hot path of many-job workloads.
    session.execute(
        insert(Element),
        {
            "job_id": job.id,
            "id": 0,
            "user_id": user.id,
            "type": int(first_type),
            "status": int(JobStatus.NEW),
            "priority": spec.priority,
            "src_filepath": src_path,
            "dst_filepath": dst_path if spec.type == JobType.MKDIR else None,
            "max_tries": spec.max_tries,
        },
    )
    return job, True


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
    is_file = (Element.type == Job.type).label("is_file")
    rows = session.execute(
        select(Element.job_id, Job.type, Element.status, is_file, func.count(),
               func.sum(Element.size), func.min(Element.started))
        .join(Job, Job.id == Element.job_id)
        .where(Element.job_id.in_(job_ids))
        .group_by(Element.job_id, Job.type, Element.status, is_file)
    )
    tallies: dict[int, dict[str, int]] = {}
    started: dict[int, datetime] = {}
    copying: list[int] = []
    for job_id, job_type, status, file_row, n, size, first in rows:
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
        for job_id, progress in session.execute(
            select(Element.job_id, Element.progress).where(
                Element.job_id.in_(copying),
                Element.status.in_([int(s) for s in LEASED_STATUSES]),
                Element.type == int(JobType.COPY),
                Element.progress.is_not(None),
            )
        ):
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


# One job and its element counts, built once: job status is the most polled
# read, and building a statement (or Session.get's own) costs more than running it.
_ONE_JOB = select(Job).where(Job.id == bindparam("job_id"))
_COUNTS_OF_ONE = (
    select(Element.status, func.count())
    .where(Element.job_id == bindparam("job_id"))
    .group_by(Element.status)
)


def get_job(session: Session, user: User, job_id: int, *, files: bool = False) -> JobView:
    """The job with its element counts; with ``files`` its FileTally too.

    Status polls and ownership checks take the cheap path (one prebuilt count
    statement); answers that carry the job's JSON ask for ``files``.
    """
    job = session.execute(_ONE_JOB, {"job_id": job_id}).scalar_one_or_none()
    # Admins read every job (they may steer any job too); a user only their own.
    if job is None or (job.user_id != user.id and user.role != Role.ADMIN):
        raise NotFound(f"job {job_id}: no such job")
    if files:
        return JobView(job, counts_for(session, [job_id]).get(job_id, ElementCounts()))
    rows = session.execute(_COUNTS_OF_ONE, {"job_id": job_id})
    return JobView(job, {JobStatus(status): n for status, n in rows})


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
    q = select(Job)
    if owner is None:
        q = q.where(Job.user_id == user.id)
    elif owner != "all":
        q = q.where(Job.user_id == owner)
    if types:
        q = q.where(Job.type.in_([int(t) for t in types]))
    if submitted_since is not None:
        q = q.where(Job.timestamp >= submitted_since)
    if ended_since is not None:
        q = q.where(Job.ended.is_not(None), Job.ended >= ended_since)
    q = q.order_by(Job.id.desc())
    if not statuses:
        total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
        jobs = list(session.scalars(q.limit(limit).offset(offset)))
        counts = counts_for(session, [j.id for j in jobs])
        return [JobView(j, counts.get(j.id, {})) for j in jobs], total
    wanted = set(statuses)
    matched: list[JobView] = []
    for batch_start in range(0, 1 << 62, 1000):
        jobs = list(session.scalars(q.limit(1000).offset(batch_start)))
        if not jobs:
            break
        counts = counts_for(session, [j.id for j in jobs])
        matched.extend(
            v for v in (JobView(j, counts.get(j.id, {})) for j in jobs) if v.status in wanted
        )
    return matched[offset : offset + limit], len(matched)


def get_element(session: Session, user: User, job_id: int, element_id: int) -> Element:
    get_job(session, user, job_id)
    element = session.get(Element, (job_id, element_id))
    if element is None:
        raise NotFound(f"job {job_id} has no element {element_id}")
    return element


def list_elements(
    session: Session, user: User, job_id: int, *, limit: int, offset: int
) -> tuple[list[Element], int]:
    get_job(session, user, job_id)
    total = session.scalar(select(func.count()).where(Element.job_id == job_id)) or 0
    rows = session.scalars(
        select(Element)
        .where(Element.job_id == job_id)
        .order_by(Element.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def latest_attempts(
    session: Session, user: User, job_id: int, *, limit: int, offset: int
) -> tuple[list[tuple[Element, Attempt]], int]:
    """The latest attempt of a page of the job's elements that have one, and how many have."""
    get_job(session, user, job_id)
    total = (
        session.scalar(
            select(func.count(func.distinct(Attempt.element_id))).where(Attempt.job_id == job_id)
        )
        or 0
    )
    latest = (
        select(Attempt.element_id, func.max(Attempt.attempt).label("n"))
        .where(Attempt.job_id == job_id)
        .group_by(Attempt.element_id)
        .subquery()
    )
    rows = session.execute(
        select(Element, Attempt)
        .join(Attempt, (Attempt.job_id == Element.job_id) & (Attempt.element_id == Element.id))
        .join(latest, (latest.c.element_id == Attempt.element_id) & (latest.c.n == Attempt.attempt))
        .where(Element.job_id == job_id)
        .order_by(Element.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [(e, a) for e, a in rows], total


def element_attempt(
    session: Session, user: User, job_id: int, element_id: int, attempt: int | None
) -> tuple[Element, Attempt]:
    """One attempt; None means the latest, a negative number counts from the last."""
    element = get_element(session, user, job_id, element_id)
    numbers = list(
        session.scalars(
            select(Attempt.attempt)
            .where(Attempt.job_id == job_id, Attempt.element_id == element_id)
            .order_by(Attempt.attempt)
        )
    )
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
    row = session.scalar(
        select(Attempt).where(
            Attempt.job_id == job_id, Attempt.element_id == element_id, Attempt.attempt == n
        )
    )
    assert row is not None
    return element, row
