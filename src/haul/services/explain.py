"""Why a job's elements wait: the limit that holds them and their place in line.

Each NEW element is either held back by a rule that makes it unclaimable
(paused job, banned storage, an earlier stage still running, retry backoff,
its job type paused or full), or claimable and waiting its turn. For the
latter the place in line is the claim's own order (services/claim_position.py:
the namespace lane before transfers, then priority, then fair share between
users, then age). A claimable element also needs a live worker that serves
its type and protocol; without one it waits forever, which is worth saying.

``explain`` runs these as named steps, each adding the limits it finds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import JobProtocol, JobStatus
from haul.services import queue_load, worker_activity
from haul.services.bans import banned_sites
from haul.services.claim_position import ahead_of
from haul.services.job_reads import JobView, get_job
from haul.services.job_types import type_name
from haul.store.clock import as_utc, utcnow
from haul.store.queries import waiting as queries
from haul.store.tables import Job, User


def _iso(value: datetime | None) -> str | None:
    v = as_utc(value)
    return v.isoformat() if v is not None else None


def explain(session: Session, user: User, job_id: int) -> dict[str, Any]:
    view = get_job(session, user, job_id, files=True)
    out = _counts(view)
    if out["waiting"] == 0:
        out["summary"] = _nothing_waits(view, out["running"])
        return out
    job, limits = view.job, out["limits"]
    limits.extend(_held_by_the_job(job, out["waiting"]))
    limits.extend(_held_by_bans(session, job, out["waiting"]))
    limits.extend(_held_by_stage(session, job))
    limits.extend(_held_by_backoff(session, job))
    condition, blocked = _claimable_of_types(session, job.id)
    limits.extend(_held_by_job_type(session, job, blocked))
    out["queued"] = queries.claimable(session, job.id, condition)
    out["pending"] = out["waiting"] - out["queued"]
    if out["queued"]:
        _place_in_line(session, job, condition, out)
    out["summary"] = _summary(out)
    return out


def _counts(view: JobView) -> dict[str, Any]:
    """The answer's frame: how many wait and run; the steps add the limits."""
    running = view.counts.get(JobStatus.SUBMITTED, 0) + view.counts.get(JobStatus.RUNNING, 0)
    return {
        "jobid": view.job.id,
        "status": view.status.name,
        "waiting": view.counts.get(JobStatus.NEW, 0),
        "running": running,
        "queued": 0,
        "pending": 0,
        "position": None,
        "ahead": None,
        "limits": [],
    }


def _nothing_waits(view: JobView, running: int) -> str:
    if running:
        return f"nothing waits: {running} element(s) running"
    return f"nothing waits: the job is {view.status.name}"


def _held_by_the_job(job: Job, waiting: int) -> list[dict[str, Any]]:
    held = []
    if job.cancelled:
        held.append({"limit": "cancelled", "elements": waiting, "detail": "the job is cancelled"})
    if job.paused:
        held.append(
            {
                "limit": "paused",
                "elements": waiting,
                "detail": "the job is paused; resume it to let workers claim its elements",
            }
        )
    return held


def _held_by_bans(session: Session, job: Job, waiting: int) -> list[dict[str, Any]]:
    banned = banned_sites(session)
    hit = sorted({s for s in (job.src_siteid, job.dst_siteid) if s is not None and s in banned})
    if not hit:
        return []
    return [
        {
            "limit": "banned_storage",
            "elements": waiting,
            "sites": hit,
            "detail": f"an administrator banned site(s) {', '.join(map(str, hit))}",
        }
    ]


def _held_by_stage(session: Session, job: Job) -> list[dict[str, Any]]:
    later = queries.later_stage(session, job.id, job.stage)
    if not later:
        return []
    return [
        {
            "limit": "stage",
            "elements": later,
            "detail": f"waiting for the elements of stage {job.stage} to finish first",
        }
    ]


def _held_by_backoff(session: Session, job: Job) -> list[dict[str, Any]]:
    n_backoff, first_free, last_free = queries.backing_off(session, job.id, utcnow())
    if not n_backoff:
        return []
    return [
        {
            "limit": "backoff",
            "elements": n_backoff,
            "until": _iso(first_free),
            "last_until": _iso(last_free),
            "detail": f"retrying after a failure; the first becomes claimable at "
            f"{_iso(first_free)}",
        }
    ]


def _held_by_job_type(session: Session, job: Job, blocked: list[int]) -> list[dict[str, Any]]:
    if not blocked:
        return []
    names = [type_name(session, t) for t in blocked]
    return [
        {
            "limit": "job_type",
            "elements": queries.of_types(session, job.id, blocked),
            "types": names,
            "detail": f"job type {', '.join(names)} is paused, inactive, or at its max_scheduled",
        }
    ]


def _place_in_line(session: Session, job: Job, condition: Any, out: dict[str, Any]) -> None:
    """The job's first claimable element's place in the claim's order, and what it waits for."""
    first = queries.first_claimable(session, job.id, condition)
    assert first is not None
    ahead = ahead_of(session, first, job)
    out["ahead"] = ahead
    out["position"] = sum(ahead.values())
    out["limits"].extend(_ahead_limits(ahead, first.priority, out["queued"]))
    out["limits"].extend(_worker_limits(session, job, out["queued"]))


def _ahead_limits(ahead: dict[str, int], priority: int, queued: int) -> list[dict[str, Any]]:
    held = []
    if ahead.get("namespace_lane"):
        held.append(
            {
                "limit": "namespace_lane",
                "elements": queued,
                "ahead": ahead["namespace_lane"],
                "detail": f"{ahead['namespace_lane']} namespace operation(s) (listings, "
                "new directories, renames, single removals) go before any transfer",
            }
        )
    if ahead["higher_priority"]:
        held.append(
            {
                "limit": "priority",
                "elements": queued,
                "ahead": ahead["higher_priority"],
                "detail": f"{ahead['higher_priority']} element(s) of more urgent priority "
                f"(below {priority}) go first",
            }
        )
    if ahead["fair_share"]:
        held.append(
            {
                "limit": "fair_share",
                "elements": queued,
                "ahead": ahead["fair_share"],
                "detail": f"other users' elements at priority {priority} take turns "
                f"with yours ({ahead['fair_share']} ahead)",
            }
        )
    return held


def _claimable_of_types(session: Session, job_id: int) -> tuple[Any, list[int]]:
    """The claim condition for the job's waiting element types, and which types are blocked."""
    types = queries.waiting_types(session, job_id)
    room = queue_load.open_room(session, types)
    blocked = [t for t in types if t not in room]
    return queue_load.claimable_now(session, list(room) or [-1]), blocked


def _worker_limits(session: Session, job: Job, queued: int) -> list[dict[str, Any]]:
    active = worker_activity.serving(session)
    element_types = {type_name(session, t) for t in queries.waiting_types(session, job.id)}
    wanted = {t.upper() for t in element_types}
    protocol = JobProtocol(job.protocol).name
    if not active:
        return [
            {
                "limit": "no_worker",
                "elements": queued,
                "detail": f"no worker has contacted the server in the last "
                f"{worker_activity.ACTIVE_SECONDS} s",
            }
        ]
    serving = [
        w
        for w in active
        if (not w.types or wanted & {str(t).upper() for t in w.types})
        and (not w.protocols or protocol in {str(p).upper() for p in w.protocols})
    ]
    if serving:
        return []
    return [
        {
            "limit": "no_worker",
            "elements": queued,
            "protocol": protocol,
            "types": sorted(element_types),
            "detail": f"{len(active)} worker(s) active, but none serves "
            f"{'/'.join(sorted(element_types))} over {protocol}",
        }
    ]


def _summary(out: dict[str, Any]) -> str:
    if not out["limits"]:
        if out["position"] == 0:
            return "next in line: the next claim by a serving worker takes it"
        return f"queued; position {out['position']} in line"
    names = ", ".join(sorted({limit["limit"] for limit in out["limits"]}))
    return f"{out['waiting']} element(s) wait; held by: {names}"
