"""Read models for the web dashboard: jobs with file and byte progress, elements, attempts.

The seed-000 API answers per job with element counts only; a person watching
a copy wants bytes and a rate too, and an admin wants every user's jobs.
These reads add that, without changing what the API returns. A user sees
their own jobs; an admin sees everyone's (the API's control verbs already
let an admin act on any job).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import JobStatus, JobType, Role
from haul.domain.job_status import FileTally
from haul.services import job_reads
from haul.services.errors import NotFound
from haul.services.job_reads import JobView
from haul.store.clock import as_utc, utcnow
from haul.store.queries import element_reads
from haul.store.queries.names import site_names, upload_names, user_emails
from haul.store.tables import Attempt, Element, Job, User


@dataclass
class JobSummary:
    view: JobView
    owner: str = ""
    src_site: str = ""
    dst_site: str = ""
    files_total: int = 0
    files_done: int = 0
    files_failed: int = 0
    bytes_total: int = 0
    bytes_done: int = 0
    rate: float = 0.0
    running: int = 0
    eta: float | None = None  # seconds left at the job's average rate, size known
    upload_name: str = ""  # an upload's file name, for jobs copying one (their path is its id)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def job(self) -> Job:
        return self.view.job

    @property
    def status(self) -> JobStatus:
        return self.view.status

    @property
    def age_seconds(self) -> float:
        ts = as_utc(self.job.timestamp)
        return (utcnow() - ts).total_seconds() if ts else 0.0

    @property
    def percent(self) -> float:
        if self.bytes_total > 0:
            return min(100.0, 100.0 * self.bytes_done / self.bytes_total)
        if self.files_total > 0:
            return 100.0 * self.files_done / self.files_total
        return 100.0 if self.status == JobStatus.DONE else 0.0


def summarise(session: Session, views: list[JobView]) -> list[JobSummary]:
    """Files and bytes come from each view's FileTally (the API's num_files...), one rule."""
    if not views:
        return []
    ids = [v.job.id for v in views]
    out = {v.job.id: JobSummary(v) for v in views}
    for s in out.values():
        files = s.view.files or FileTally()
        s.files_total, s.files_done, s.files_failed = (
            files.num_files, files.files_done, files.files_failed
        )
        s.bytes_total, s.bytes_done = files.bytes_total or 0, files.bytes_done or 0
    for job_id, n in element_reads.leased_counts(session, ids).items():
        out[job_id].running = n
    for job_id, progress in element_reads.leased_progress(session, ids):
        s = out[job_id]
        p = progress if isinstance(progress, dict) else {}
        s.rate += float(p.get("instant") or p.get("average") or 0.0)
    now = utcnow()
    for s in out.values():
        # The job's average since its first file started (the API's "rate"): the
        # running elements' instant rates miss files that finish between beats.
        ended = as_utc(s.job.ended)
        files = s.view.files or FileTally()
        s.rate = files.rate(now, ended) or s.rate
        s.eta = files.eta_seconds(now, ended)
    site_ids = {sid for v in views for sid in (v.job.src_siteid, v.job.dst_siteid) if sid}
    names = site_names(session, site_ids)
    owners = user_emails(session, {v.job.user_id for v in views})
    _name_uploads(session, list(out.values()))
    for s in out.values():
        s.src_site = names.get(s.job.src_siteid, "") if s.job.src_siteid else ""
        s.dst_site = names.get(s.job.dst_siteid, "") if s.job.dst_siteid else ""
        s.owner = owners.get(s.job.user_id, "")
    return [out[i] for i in ids]


def _name_uploads(session: Session, summaries: list[JobSummary]) -> None:
    """Jobs copying an upload show its file name instead of its opaque id."""
    from haul.services.uploads import upload_site_id

    site = upload_site_id(session)
    ours = [s for s in summaries if site and s.job.src_siteid == site]
    wanted = {s.job.src_filepath.lstrip("/") for s in ours}  # stored as "/<id>"
    if not wanted:
        return
    names = upload_names(session, wanted)
    for s in ours:
        s.upload_name = names.get(s.job.src_filepath.lstrip("/"), "")


def list_jobs(
    session: Session,
    user: User,
    *,
    statuses: list[JobStatus] | None = None,
    types: list[JobType] | None = None,
    all_users: bool = True,
    limit: int = 100,
) -> list[JobSummary]:
    """Newest first; admins see every user's jobs unless ``all_users`` is off."""
    owner = "all" if all_users and user.role == Role.ADMIN else None
    views, _ = job_reads.list_jobs(
        session, user, statuses=statuses, types=types, limit=limit, owner=owner
    )
    return summarise(session, views)


def get_job(session: Session, user: User, job_id: int) -> JobSummary:
    return summarise(session, [job_reads.get_job(session, user, job_id, files=True)])[0]


def elements(
    session: Session, user: User, job_id: int, *, limit: int = 200, offset: int = 0
) -> tuple[list[Element], int]:
    return job_reads.list_elements(session, user, job_id, limit=limit, offset=offset)


def attempts(
    session: Session, user: User, job_id: int, element_id: int
) -> tuple[Element, list[Attempt]]:
    get_job(session, user, job_id)
    element = session.get(Element, (job_id, element_id))
    if element is None:
        raise NotFound(f"job {job_id} has no element {element_id}")
    return element, element_reads.attempts_of(session, job_id, element_id)


def duration(start: datetime | None, end: datetime | None) -> float | None:
    s, e = as_utc(start), as_utc(end)
    if s is None or e is None:
        return None
    return max((e - s).total_seconds(), 0.0)


def status_counts(summaries: list[JobSummary]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for s in summaries:
        out[s.status.name] += 1
    return dict(out)
