"""The claim: handing a worker a batch of elements under time-limited leases.

Order: priority (0 first), then fair share between users at equal priority
(users with the fewest elements already leased go first, then round-robin,
so one user's 100,000-file job cannot starve another user's single file),
then age. Only elements whose backoff has passed, whose job is neither paused
nor cancelled and whose stage is the job's current stage are claimable.

Atomicity: on PostgreSQL the candidate rows are locked with
``FOR UPDATE SKIP LOCKED`` so concurrent claims pass each other by; on SQLite
the whole claim runs in one ``BEGIN IMMEDIATE`` transaction (a write session).
Either way an element is never in two leases at once.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from haul.domain.enums import JobProtocol, JobStatus, JobType
from haul.server.secrets_box import SecretBox
from haul.services.bans import banned_sites
from haul.services.job_types import blocked_types, type_name
from haul.services.sites import credential_material, endpoints_of
from haul.store.clock import utcnow
from haul.store.element_rows import keyed_update, load_rows
from haul.store.tables import Element, Job, Site, User

DEFAULT_LIMIT = 20
DEFAULT_SIZE = 150_000_000
MAX_BATCH = 5000
ACTIVE = (int(JobStatus.SUBMITTED), int(JobStatus.RUNNING))


@dataclass
class ClaimRequest:
    types: list[int]  # element type integers (built-in JobType values, or custom types)
    protocols: list[JobProtocol] | None = None
    algorithm: Literal["BY_NUMBER", "BY_SIZE"] = "BY_NUMBER"
    limit: int = DEFAULT_LIMIT
    size: int = DEFAULT_SIZE
    lease_seconds: int = 120


@dataclass
class Candidate:
    job_id: int
    id: int
    size: int
    user_id: int
    type: int


def _claimable(session: Session, req: ClaimRequest, types: list[int]) -> Any:
    now = utcnow()
    conds = [
        Element.status == int(JobStatus.NEW),
        Element.type.in_(types),
        or_(Element.not_before.is_(None), Element.not_before <= now),
        Job.paused.is_(False),
        Job.cancelled.is_(False),
        Element.stage == Job.stage,
    ]
    if req.protocols:
        conds.append(Job.protocol.in_([int(p) for p in req.protocols]))
    banned = banned_sites(session)
    if banned:
        conds.append(Job.src_siteid.not_in(banned))
        conds.append(or_(Job.dst_siteid.is_(None), Job.dst_siteid.not_in(banned)))
    return and_(*conds)


def _levels(session: Session, req: ClaimRequest) -> dict[int, list[int]]:
    """Users with queued work per priority level (an index-only scan of ix_elements_claim).

    Types and every other filter are left to the per-user query, so this stays
    an index-only scan.
    """
    rows = session.execute(
        select(Element.priority, Element.user_id)
        .where(Element.status == int(JobStatus.NEW))
        .distinct()
    ).all()
    levels: dict[int, list[int]] = defaultdict(list)
    for priority, user_id in rows:
        levels[priority].append(user_id)
    return levels


def _leased_counts(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(Element.user_id, func.count())
        .where(Element.status.in_(ACTIVE))
        .group_by(Element.user_id)
    )
    return {u: n for u, n in rows}


def _candidates(
    session: Session, claimable: Any, priority: int, user_id: int, want: int, pg: bool
) -> list[Candidate]:
    q = (
        select(Element.job_id, Element.id, Element.size, Element.user_id, Element.type)
        .join(Job, Job.id == Element.job_id)
        .where(claimable, Element.priority == priority, Element.user_id == user_id)
        .order_by(Element.job_id, Element.id)
        .limit(want)
    )
    if pg:
        q = q.with_for_update(skip_locked=True, of=Element)
    return [Candidate(*row) for row in session.execute(q)]


def _round_robin(per_user: list[list[Candidate]]) -> list[Candidate]:
    out: list[Candidate] = []
    depth = max((len(c) for c in per_user), default=0)
    for i in range(depth):
        out.extend(c[i] for c in per_user if i < len(c))
    return out


def select_batch(session: Session, req: ClaimRequest, pg: bool) -> list[Candidate]:
    count_cap = min(req.limit, MAX_BATCH) if req.algorithm == "BY_NUMBER" else MAX_BATCH
    chosen: list[Candidate] = []
    total_size = 0
    levels = _levels(session, req)
    if not levels:
        return []
    paused, room = blocked_types(session)
    types = [t for t in req.types if t not in paused and room.get(t, 1) > 0]
    if not types:
        return []
    leased = _leased_counts(session)
    claimable = _claimable(session, req, types)
    for priority in sorted(levels):
        users = sorted(levels[priority], key=lambda u: (leased.get(u, 0), u))
        want = count_cap - len(chosen)
        # A user listed by _levels may have nothing claimable (other types, paused
        # job, backoff, banned site, later stage): skip them rather than let them
        # take one of the `want` user slots, or a claim answers 404 beside work.
        per_user: list[list[Candidate]] = []
        for u in users:
            if len(per_user) >= want:
                break
            cands = _candidates(session, claimable, priority, u, want, pg)
            if cands:
                per_user.append(cands)
        for cand in _round_robin(per_user):
            if len(chosen) >= count_cap:
                break
            if req.algorithm == "BY_SIZE" and chosen and total_size + cand.size > req.size:
                continue  # too big for what is left; smaller ones behind it may fit
            if cand.type in room:
                if room[cand.type] <= 0:
                    continue  # the type's max_scheduled is reached
                room[cand.type] -= 1
            chosen.append(cand)
            total_size += cand.size
            if req.algorithm == "BY_SIZE" and total_size >= req.size:
                break
        if len(chosen) >= count_cap or (req.algorithm == "BY_SIZE" and total_size >= req.size):
            break
    return chosen


def claim(
    session: Session, box: SecretBox, worker: User, req: ClaimRequest, pg: bool
) -> list[dict[str, Any]]:
    chosen = select_batch(session, req, pg)
    if not chosen:
        return []
    now = utcnow()
    expires = now + timedelta(seconds=req.lease_seconds)
    leases = [
        {
            "k_job": c.job_id,
            "k_id": c.id,
            "job_id": c.job_id,
            "id": c.id,
            "lease_token": secrets.token_hex(16),
            "lease_expires": expires,
        }
        for c in chosen
    ]
    session.execute(
        _LEASE_UPDATE,
        [
            {
                "k_job": x["k_job"],
                "k_id": x["k_id"],
                "v_token": x["lease_token"],
                "v_expires": expires,
                "v_worker": worker.id,
                "v_now": now,
            }
            for x in leases
        ],
        execution_options={"synchronize_session": False},
    )
    return lease_payload(session, box, leases)


_LEASE_UPDATE = keyed_update(
    status=int(JobStatus.SUBMITTED),
    lease_token=bindparam("v_token"),
    lease_expires=bindparam("v_expires"),
    worker_id=bindparam("v_worker"),
    started=bindparam("v_now"),
    progress=None,
    command=None,
)


def site_payload(
    session: Session, box: SecretBox, site_id: int | None, user_id: int
) -> dict[str, Any] | None:
    if site_id is None:
        return None
    site = session.get(Site, site_id)
    if site is None:
        return None
    return {
        "site_id": site.id,
        "site_name": site.name,
        "def_path": site.def_path,
        "endpoints": [e.url for e in endpoints_of(session, site.id)],
        # The only place a secret leaves the server: inside a lease that needs it.
        "credential": credential_material(session, box, user_id, site.id) or None,
    }


def lease_payload(
    session: Session, box: SecretBox, leases: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    by_job: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for lease in leases:
        by_job[lease["job_id"]].append(lease)
    jobs = {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(list(by_job))))}
    out = []
    sites: dict[tuple[int | None, int], Any] = {}
    for job_id, job_leases in by_job.items():
        job = jobs[job_id]
        elements = load_rows(session, [(job_id, lease["id"]) for lease in job_leases])
        for site_id in (job.src_siteid, job.dst_siteid):
            if (site_id, job.user_id) not in sites:
                sites[(site_id, job.user_id)] = site_payload(session, box, site_id, job.user_id)
        depth = int(job.extra_opts.get("depth", 1)) if job.type == JobType.LIST else 0
        out.append(
            {
                "id": job.id,
                "user_id": job.user_id,
                "type": job.type_name or JobType(job.type).name,
                "src_siteid": job.src_siteid,
                "dst_siteid": job.dst_siteid,
                "src_filepath": job.src_filepath,
                "dst_filepath": job.dst_filepath,
                "extra_opts": job.extra_opts or {},
                "priority": job.priority,
                "protocol": JobProtocol(job.protocol).name,
                "log_uid": job.log_uid,
                "request": job.request,
                "src_site": sites[(job.src_siteid, job.user_id)],
                "dst_site": sites[(job.dst_siteid, job.user_id)],
                "elements": [
                    {
                        "id": e.id,
                        "job_id": e.job_id,
                        "type": type_name(session, e.type),
                        "src_filepath": e.src_filepath,
                        "dst_filepath": e.dst_filepath,
                        "size": e.size,
                        "attempts": e.attempts,
                        "max_tries": e.max_tries,
                        "depth": depth if e.type == JobType.LIST else None,
                        "mode": e.mode,
                        "token": lease["lease_token"],
                        "lease_expires": lease["lease_expires"].isoformat(),
                    }
                    for lease in job_leases
                    for e in [elements[(job_id, lease["id"])]]
                ],
            }
        )
    return out
