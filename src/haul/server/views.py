"""JSON shapes of seed 000: the field names pdm clients read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import JobProtocol, JobStatus, JobType
from haul.domain.job_status import attempts_shown
from haul.domain.limits import LISTING
from haul.services.job_errors import last_errors
from haul.services.job_reads import JobView
from haul.services.job_types import type_name
from haul.services.listings import latest_listing, render_listing
from haul.services.sites import SiteView
from haul.store.clock import as_utc, utcnow
from haul.store.tables import Attempt, Element

COUNT_FIELDS = {
    JobStatus.NEW: "num_new",
    JobStatus.DONE: "num_done",
    JobStatus.FAILED: "num_failed",
    JobStatus.SUBMITTED: "num_submitted",
    JobStatus.RUNNING: "num_running",
    JobStatus.CANCELLED: "num_cancelled",
    JobStatus.PAUSED: "num_paused",
}


def iso(value: datetime | None) -> str | None:
    v = as_utc(value)
    return v.isoformat() if v is not None else None


def job_json(view: JobView, *, counts: bool = True) -> dict[str, Any]:
    job = view.job
    out: dict[str, Any] = {
        "id": job.id,
        "user_id": job.user_id,
        "src_siteid": job.src_siteid,
        "dst_siteid": job.dst_siteid,
        "src_filepath": job.src_filepath,
        "dst_filepath": job.dst_filepath,
        "type": job.type_name or JobType(job.type).name,
        "status": view.status.name,
        "extra_opts": job.extra_opts or {},
        "priority": job.priority,
        "protocol": JobProtocol(job.protocol).name,
        "log_uid": job.log_uid,
        "timestamp": iso(job.timestamp),
        "max_tries": job.max_tries,
        "metadata": job.meta,
        "submission_id": job.submission_id,
        # Custom jobs (seed 004 / Scale): a label, the request, the result, messages.
        "name": job.name,
        "request": job.request,
        "result": (job.result or {}).get("data"),
        "messages": (job.result or {}).get("messages", []),
    }
    if counts:
        out["num_elements"] = sum(view.counts.values())
        for status, name in COUNT_FIELDS.items():
            out[name] = view.counts.get(status, 0)
        # What the user asked to move, without the LIST that expands a job
        # (domain.job_status.FileTally); pdm's counters above stay as they were.
        files = view.files
        if files is None:
            return out
        out["num_files"] = files.num_files
        out["files_done"] = files.files_done
        out["files_failed"] = files.files_failed
        out["bytes_total"] = files.bytes_total
        out["bytes_done"] = files.bytes_done
        now, ended = utcnow(), as_utc(job.ended)
        rate = files.rate(now, ended)
        eta = files.eta_seconds(now, ended)
        out["rate"] = round(rate, 1) if rate is not None else None  # bytes/s, job average
        out["eta_seconds"] = round(eta, 1) if eta is not None else None
    return out


def error_json(error: Any) -> dict[str, Any] | None:
    if not isinstance(error, dict):
        return None
    return {k: error.get(k) for k in ("code", "scope", "message", "retryable") if k in error}


@dataclass(frozen=True)
class ListingPage:
    """Which entries of an embedded listing an answer holds (see domain.limits.LISTING)."""

    offset: int = 0
    limit: int = LISTING.default


def element_json(
    session: Session,
    element: Element,
    page: ListingPage = ListingPage(),
    errors: dict[tuple[int, int], Any] | None = None,
) -> dict[str, Any]:
    """``errors``: last_errors() of a whole page, so a page costs one query, not one each."""
    if errors is None:
        errors = last_errors(session, [element])
    listing = None
    total = None
    if element.type == JobType.LIST and element.status == JobStatus.DONE:
        found = latest_listing(session, element.job_id, element.id, page.offset, page.limit)
        if found is not None:
            listing, total = found
    return {
        "id": element.id,
        "job_id": element.job_id,
        "src_filepath": element.src_filepath,
        "dst_filepath": element.dst_filepath,
        "size": element.size,
        "max_tries": element.max_tries,
        "attempts": attempts_shown(element.status, element.attempts),
        "type": type_name(session, element.type),
        "status": JobStatus(element.status).name,
        "timestamp": iso(element.timestamp),
        "listing": listing,
        "listing_total": total,  # entries in the whole listing; ``listing`` may be a page
        "progress": element.progress,
        # The latest attempt's error ({code, scope, message, retryable}), or None.
        "error": error_json(errors.get((element.job_id, element.id))),
    }


def output_json(
    session: Session, element: Element, attempt: Attempt, page: ListingPage = ListingPage()
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "jobid": element.job_id,
        "elementid": element.id,
        "attempt": attempt.attempt,
        "type": type_name(session, element.type),
        "status": JobStatus(attempt.status).name,
        "log": attempt.log,
        "returncode": attempt.returncode,
        "host": attempt.host,
        "error": attempt.error,
        "timestamp": iso(attempt.ended),
    }
    if element.type == JobType.LIST:
        out["listing"], out["listing_total"] = render_listing(
            session, element.job_id, element.id, attempt.attempt, page.offset, page.limit
        )
    return out


def site_json(
    view: SiteView, *, caller_id: int, with_endpoints: bool, owner: str | None = None
) -> dict[str, Any]:
    s = view.site
    out: dict[str, Any] = {
        "site_id": s.id,
        "site_name": s.name,
        "site_desc": s.description,
        "def_path": s.def_path,
        "public": s.public,
        "is_owner": s.owner_id == caller_id,
        "requires_credential": s.requires_credential,
        "protocols": sorted(p.name for p in view.protocols),  # pdm's enum names (sftp: SSH)
        "schemes": sorted(view.schemes),  # what the endpoints say: sftp, davs, upload...
        "owner": owner,
        "host_key": s.host_key,
    }
    if with_endpoints:
        out["endpoints"] = [e.url for e in view.endpoints]
    return out
