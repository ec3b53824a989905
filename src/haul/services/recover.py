"""Recovering a COPY job: check every destination, re-copy the ones that differ.

Only workers touch storage, so a recover request turns the job's COPY
elements into checks (mode ``verify``) that workers run like any element:
the destination must exist with the source's size and checksum. A check that
finds a difference re-queues the element as an overwriting copy, or, on a dry
run, only records it in the job's recover report.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import JobStatus, JobType
from haul.domain.transitions import Requeue
from haul.services.control import load_job, settle
from haul.services.errors import Conflict, NotFound
from haul.services.steering import requeue_elements
from haul.store.clock import utcnow
from haul.store.queries.job_control import checks_pending
from haul.store.tables import Element, Job, User


def request(session: Session, user: User, job_id: int, dry_run: bool) -> dict[str, Any]:
    view = load_job(session, user, job_id)
    job = view.job
    if job.type != JobType.COPY or job.type_name is not None:
        kind = job.type_name or JobType(job.type).name
        raise Conflict(f"job {job_id} is a {kind} job; only COPY jobs recover")
    if view.status not in (JobStatus.DONE, JobStatus.FAILED):
        raise Conflict(f"job {job_id} is {view.status.name}; recover needs a DONE or FAILED job")
    n = requeue_elements(
        session, job_id, Requeue.RECOVER, where=(Element.type == int(JobType.COPY),)
    )
    job.recover = {
        "dry_run": dry_run,
        "requested": utcnow().isoformat(),
        "checked": 0,
        "differing": [],
    }
    job.ended = None
    settle(session, job)
    return report(session, user, job_id) | {"checking": n}


def record_check(job: Job, element: Any, verdict: dict[str, Any]) -> bool:
    """Records a worker's verdict in the job's report; returns whether to re-copy."""
    rec = dict(job.recover or {"dry_run": True, "differing": [], "checked": 0})
    rec["checked"] = int(rec.get("checked", 0)) + 1
    same = bool(verdict.get("same"))
    repair = False
    if not same:
        entry = {
            "elementid": element.id,
            "src_filepath": element.src_filepath,
            "dst_filepath": element.dst_filepath,
            "reason": str(verdict.get("reason", ""))[:500],
        }
        rec["differing"] = [*rec.get("differing", []), entry]
        if not rec.get("dry_run"):
            repair = True
    job.recover = rec
    return repair


def report(session: Session, user: User, job_id: int) -> dict[str, Any]:
    view = load_job(session, user, job_id)
    rec = view.job.recover
    if rec is None:
        raise NotFound(f"job {job_id} has no recover request")
    pending = checks_pending(session, job_id)
    return {"jobid": job_id, "state": "checking" if pending else "done", "pending": pending, **rec}
