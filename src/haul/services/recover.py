"""Recovering a COPY job: check every destination, re-copy the ones that differ.

Only workers touch storage, so a recover request turns the job's COPY
elements into checks (mode ``verify``) that workers run like any element:
the destination must exist with the source's size and checksum. A check that
finds a difference re-queues the element as an overwriting copy, or, on a dry
run, only records it in the job's recover report.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from haul.domain.enums import JobStatus, JobType
from haul.services.errors import Conflict, NotFound
from haul.store.clock import utcnow
from haul.store.tables import Element, Job, User

CHECKABLE = (int(JobStatus.DONE), int(JobStatus.FAILED))


def request(session: Session, user: User, job_id: int, dry_run: bool) -> dict[str, Any]:
    from haul.services.control import _settle, load  # control imports reports imports us

    view = load(session, user, job_id)
    job = view.job
    if job.type != JobType.COPY or job.type_name is not None:
        kind = job.type_name or JobType(job.type).name
        raise Conflict(f"job {job_id} is a {kind} job; only COPY jobs recover")
    if view.status not in (JobStatus.DONE, JobStatus.FAILED):
        raise Conflict(f"job {job_id} is {view.status.name}; recover needs a DONE or FAILED job")
    n = session.execute(
        update(Element)
        .where(
            Element.job_id == job_id,
            Element.type == int(JobType.COPY),
            Element.status.in_(CHECKABLE),
        )
        .values(
            status=int(JobStatus.NEW), mode="verify", attempts=0, not_before=None, command=None
        ),
        execution_options={"synchronize_session": False},
    ).rowcount
    job.recover = {
        "dry_run": dry_run,
        "requested": utcnow().isoformat(),
        "checked": 0,
        "differing": [],
    }
    job.ended = None
    _settle(session, job)
    return report(session, user, job_id) | {"checking": n}


def record_check(job: Job, element: Any, verdict: dict[str, Any]) -> str | None:
    """Applies a worker's verdict; returns the element's next mode (None = done)."""
    rec = dict(job.recover or {"dry_run": True, "differing": [], "checked": 0})
    rec["checked"] = int(rec.get("checked", 0)) + 1
    same = bool(verdict.get("same"))
    next_mode = None
    if not same:
        entry = {
            "elementid": element.id,
            "src_filepath": element.src_filepath,
            "dst_filepath": element.dst_filepath,
            "reason": str(verdict.get("reason", ""))[:500],
        }
        rec["differing"] = [*rec.get("differing", []), entry]
        if not rec.get("dry_run"):
            next_mode = "overwrite"
    job.recover = rec
    return next_mode


def report(session: Session, user: User, job_id: int) -> dict[str, Any]:
    from haul.services.control import load

    view = load(session, user, job_id)
    rec = view.job.recover
    if rec is None:
        raise NotFound(f"job {job_id} has no recover request")
    pending = (
        session.scalar(
            select(func.count()).where(
                Element.job_id == job_id,
                Element.mode == "verify",
                Element.status.in_(
                    [int(JobStatus.NEW), int(JobStatus.SUBMITTED), int(JobStatus.RUNNING)]
                ),
            )
        )
        or 0
    )
    return {"jobid": job_id, "state": "checking" if pending else "done", "pending": pending, **rec}
