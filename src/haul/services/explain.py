"""Why a job's elements wait: the limit that holds them and their place in line.

Each NEW element is either held back by a rule that makes it unclaimable
(paused job, banned storage, an earlier stage still running, retry backoff),
or claimable and waiting its turn. For the latter the queue position is an
estimate that follows the claim order: lower priority numbers first, then
fair share between users at the same priority (round-robin, fewest leased
first), then age. A claimable element also needs a live worker that serves
its type and protocol; without one it waits forever, which is worth saying.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from haul.domain.enums import LEASED, JobProtocol, JobStatus
from haul.services import load, workers_seen
from haul.services.bans import banned_sites
from haul.services.job_reads import get_job
from haul.services.job_types import type_name
from haul.store.clock import as_utc, utcnow
from haul.store.tables import Element, Job, User

NEW = int(JobStatus.NEW)


def _iso(value: datetime | None) -> str | None:
    v = as_utc(value)
    return v.isoformat() if v is not None else None


def _claimable_of_type(session: Session, type_id: int) -> Any:
    return load.claimable_now(session, [type_id])


def _position(session: Session, first: Element) -> dict[str, int]:
    """How many claimable elements a claim would hand out before ``first``."""
    base = (
        select(func.count())
        .select_from(Element)
        .join(Job, Job.id == Element.job_id)
        .where(_claimable_of_type(session, first.type))
    )
    higher = session.scalar(base.where(Element.priority < first.priority)) or 0
    same_user = (
        session.scalar(
            base.where(
                Element.priority == first.priority,
                Element.user_id == first.user_id,
                or_(
                    Element.job_id < first.job_id,
                    and_(Element.job_id == first.job_id, Element.id < first.id),
                ),
            )
        )
        or 0
    )
    others = dict(
        session.execute(
            select(Element.user_id, func.count())
            .join(Job, Job.id == Element.job_id)
            .where(
                _claimable_of_type(session, first.type),
                Element.priority == first.priority,
                Element.user_id != first.user_id,
            )
            .group_by(Element.user_id)
        ).all()
    )
    leased = dict(
        session.execute(
            select(Element.user_id, func.count())
            .where(Element.status.in_(LEASED))
            .group_by(Element.user_id)
        ).all()
    )
    mine = (leased.get(first.user_id, 0), first.user_id)
    fair = 0
    for user_id, n in others.items():
        # Round-robin: a user served before us in each round gets one more turn.
        before_us = (leased.get(user_id, 0), user_id) < mine
        fair += min(n, same_user + (1 if before_us else 0))
    return {"higher_priority": higher, "same_user": same_user, "fair_share": fair}




def explain(session: Session, user: User, job_id: int) -> dict[str, Any]:
    view = get_job(session, user, job_id, files=True)
    job = view.job
    now = utcnow()
    waiting = view.counts.get(JobStatus.NEW, 0)
    running = view.counts.get(JobStatus.SUBMITTED, 0) + view.counts.get(JobStatus.RUNNING, 0)
    limits: list[dict[str, Any]] = []
    out: dict[str, Any] = {
        "jobid": job.id,
        "status": view.status.name,
        "waiting": waiting,
        "running": running,
        "queued": 0,
        "pending": 0,
        "position": None,
        "ahead": None,
        "limits": limits,
    }
    if waiting == 0:
        out["summary"] = (
            f"nothing waits: {running} element(s) running"
            if running
            else f"nothing waits: the job is {view.status.name}"
        )
        return out

    new_of_job = and_(Element.job_id == job.id, Element.status == NEW)
    if job.cancelled:
        limits.append({"limit": "cancelled", "elements": waiting, "detail": "the job is cancelled"})
    if job.paused:
        limits.append(
            {
                "limit": "paused",
                "elements": waiting,
                "detail": "the job is paused; resume it to let workers claim its elements",
            }
        )
    banned = banned_sites(session)
    hit = sorted({s for s in (job.src_siteid, job.dst_siteid) if s is not None and s in banned})
    if hit:
        limits.append(
            {
                "limit": "banned_storage",
                "elements": waiting,
                "sites": hit,
                "detail": f"an administrator banned site(s) {', '.join(map(str, hit))}",
            }
        )
    later = session.scalar(select(func.count()).where(new_of_job, Element.stage > job.stage)) or 0
    if later:
        limits.append(
            {
                "limit": "stage",
                "elements": later,
                "detail": f"waiting for the elements of stage {job.stage} to finish first",
            }
        )
    n_backoff, first_free, last_free = session.execute(
        select(func.count(), func.min(Element.not_before), func.max(Element.not_before)).where(
            new_of_job, Element.not_before > now
        )
    ).one()
    if n_backoff:
        limits.append(
            {
                "limit": "backoff",
                "elements": n_backoff,
                "until": _iso(first_free),
                "last_until": _iso(last_free),
                "detail": f"retrying after a failure; the first becomes claimable at "
                f"{_iso(first_free)}",
            }
        )

    condition, _, blocked = _claimable_of_types(session, job.id)
    if blocked:
        names = ", ".join(type_name(session, t) for t in blocked)
        limits.append(
            {
                "limit": "job_type",
                "elements": session.scalar(
                    select(func.count()).where(new_of_job, Element.type.in_(blocked))
                )
                or 0,
                "types": [type_name(session, t) for t in blocked],
                "detail": f"job type {names} is paused, inactive, or at its max_scheduled",
            }
        )
    claimable = and_(Element.job_id == job.id, condition)
    queued = (
        session.scalar(
            select(func.count())
            .select_from(Element)
            .join(Job, Job.id == Element.job_id)
            .where(claimable)
        )
        or 0
    )
    out["queued"] = queued
    out["pending"] = waiting - queued
    if queued:
        first = session.scalar(
            select(Element)
            .join(Job, Job.id == Element.job_id)
            .where(claimable)
            .order_by(Element.priority, Element.job_id, Element.id)
            .limit(1)
        )
        assert first is not None
        ahead = _position(session, first)
        out["ahead"] = ahead
        out["position"] = sum(ahead.values())
        if ahead["higher_priority"]:
            limits.append(
                {
                    "limit": "priority",
                    "elements": queued,
                    "ahead": ahead["higher_priority"],
                    "detail": f"{ahead['higher_priority']} element(s) of more urgent priority "
                    f"(below {first.priority}) go first",
                }
            )
        if ahead["fair_share"]:
            limits.append(
                {
                    "limit": "fair_share",
                    "elements": queued,
                    "ahead": ahead["fair_share"],
                    "detail": f"other users' elements at priority {first.priority} take turns "
                    f"with yours ({ahead['fair_share']} ahead)",
                }
            )
        limits.extend(_worker_limits(session, job, queued))
    out["summary"] = _summary(out)
    return out


def _claimable_of_types(session: Session, job_id: int) -> tuple[Any, list[int], list[int]]:
    """The claim condition for the job's waiting element types, and which types are blocked."""
    types = sorted(
        session.scalars(
            select(Element.type).where(Element.job_id == job_id, Element.status == NEW).distinct()
        )
    )
    room = load.open_room(session, types)
    blocked = [t for t in types if t not in room]
    return load.claimable_now(session, list(room) or [-1]), types, blocked


def _worker_limits(session: Session, job: Job, queued: int) -> list[dict[str, Any]]:
    active = workers_seen.serving(session)
    element_types = {
        type_name(session, t)
        for t in session.scalars(
            select(Element.type).where(Element.job_id == job.id, Element.status == NEW).distinct()
        )
    }
    wanted = {t.upper() for t in element_types}
    protocol = JobProtocol(job.protocol).name
    if not active:
        return [
            {
                "limit": "no_worker",
                "elements": queued,
                "detail": f"no worker has contacted the server in the last "
                f"{workers_seen.ACTIVE_SECONDS} s",
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
