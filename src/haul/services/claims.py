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
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import String, and_, cast, func, literal, or_, select, update
from sqlalchemy.orm import Session

from haul.domain.claim_limits import MAX_BATCH
from haul.domain.enums import JobProtocol, JobStatus, JobType
from haul.server.secrets_box import SecretBox
from haul.services.bans import banned_sites
from haul.services.job_types import blocked_types, type_name
from haul.services.sites import credential_material, endpoints_of
from haul.store.clock import as_utc, utcnow
from haul.store.element_rows import CHUNK, ELEMENTS
from haul.store.tables import Element, Job, Site, User

DEFAULT_LIMIT = 20
DEFAULT_SIZE = 150_000_000
ACTIVE = (int(JobStatus.SUBMITTED), int(JobStatus.RUNNING))


@dataclass
class ClaimRequest:
    types: list[int]  # element type integers (built-in JobType values, or custom types)
    protocols: list[JobProtocol] | None = None
    algorithm: Literal["BY_NUMBER", "BY_SIZE"] = "BY_NUMBER"
    # BY_NUMBER: at most this many (DEFAULT_LIMIT when None). BY_SIZE: `size` bytes,
    # and also at most `limit` elements when the worker gives one (workers that
    # claim ahead bound a claim both ways; see haul.worker.claim_ahead).
    limit: int | None = None
    size: int = DEFAULT_SIZE
    lease_seconds: int = 120


@dataclass
class Candidate:
    """A claimable element, with what its lease payload needs (no second read)."""

    job_id: int
    id: int
    size: int
    user_id: int
    type: int
    src_filepath: str | None
    dst_filepath: str | None
    attempts: int
    attempt_seq: int  # every attempt ever: names temporaries, tells a retry (own_work.py)
    max_tries: int
    mode: str | None
    spec: dict[str, Any] | None = None  # a listed file's expectations (file_jobs.py)


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


SKIP_SCAN_PAIRS = 32  # beyond this many (priority, user) pairs, one DISTINCT is cheaper


def _levels(session: Session, req: ClaimRequest) -> dict[int, list[int]]:
    """Users with queued work per priority level, from the ix_elements_claim index.

    A loose index scan: each step seeks the next (priority, user) pair after
    the last one, so the cost follows the number of users with queued work,
    not the number of queued elements (a plain DISTINCT reads every queued
    element: 7 ms per claim with 100,000 queued). Types and every other
    filter are left to the per-user query, so each seek stays index-only.
    With many users queued it falls back to the single DISTINCT.
    """
    e = ELEMENTS.c
    new = int(JobStatus.NEW)
    levels: dict[int, list[int]] = defaultdict(list)
    row = session.execute(
        select(e.priority, e.user_id)
        .where(e.status == new)
        .order_by(e.priority, e.user_id)
        .limit(1)
    ).first()
    pairs = 0
    while row is not None:
        priority, user_id = row
        levels[priority].append(user_id)
        pairs += 1
        if pairs >= SKIP_SCAN_PAIRS:
            return _levels_distinct(session)
        user = session.scalar(
            select(e.user_id)
            .where(e.status == new, e.priority == priority, e.user_id > user_id)
            .order_by(e.user_id)
            .limit(1)
        )
        if user is not None:
            row = (priority, user)
            continue
        row = session.execute(
            select(e.priority, e.user_id)
            .where(e.status == new, e.priority > priority)
            .order_by(e.priority, e.user_id)
            .limit(1)
        ).first()
    return levels


def _levels_distinct(session: Session) -> dict[int, list[int]]:
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
        select(
            Element.job_id,
            Element.id,
            Element.size,
            Element.user_id,
            Element.type,
            Element.src_filepath,
            Element.dst_filepath,
            Element.attempts,
            Element.attempt_seq,
            Element.max_tries,
            Element.mode,
            Element.spec,
        )
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
    limit = (
        req.limit
        if req.limit is not None
        else (DEFAULT_LIMIT if req.algorithm == "BY_NUMBER" else MAX_BATCH)
    )
    count_cap = min(limit, MAX_BATCH)
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
    """Leases a batch; one token per claim, written with one UPDATE per job.

    Each element's token is the claim's random part joined to the element's
    id, computed by the database, so the lease is a single
    ``UPDATE ... WHERE id IN (...)`` per job instead of one statement per
    element (which is what a claim's cost used to be made of), and tokens
    still differ from element to element.
    """
    chosen = select_batch(session, req, pg)
    if not chosen:
        return []
    now = utcnow()
    expires = now + timedelta(seconds=req.lease_seconds)
    token = secrets.token_hex(16)
    by_job: dict[int, list[Candidate]] = defaultdict(list)
    for c in chosen:
        by_job[c.job_id].append(c)
    lease = {
        "status": int(JobStatus.SUBMITTED),
        "lease_token": literal(token + ".") + cast(ELEMENTS.c.id, String),
        "lease_expires": expires,
        "worker_id": worker.id,
        "started": now,
        "progress": None,
        "command": None,
    }
    for job_id, cands in by_job.items():
        ids = [c.id for c in cands]
        for start in range(0, len(ids), CHUNK):
            session.execute(
                update(ELEMENTS)
                .where(ELEMENTS.c.job_id == job_id, ELEMENTS.c.id.in_(ids[start : start + CHUNK]))
                .values(lease)
            )
    return lease_payload(session, box, by_job, token, expires)


def site_payload(
    session: Session, box: SecretBox, site_id: int | None, user_id: int
) -> dict[str, Any] | None:
    if site_id is None:
        return None
    site = session.get(Site, site_id)
    if site is None:
        return None
    owner = session.get(User, site.owner_id) if site.owner_id is not None else None
    return {
        "site_id": site.id,
        "site_name": site.name,
        "def_path": site.def_path,
        "endpoints": [e.url for e in endpoints_of(session, site.id)],
        # The only place a secret leaves the server: inside a lease that needs it.
        "credential": credential_material(session, box, user_id, site.id) or None,
        # Registered by an admin (or the server's own): workers skip their
        # network policy (loopback/private addresses) for it.
        "trusted": owner is None or owner.role == "admin",
        # SFTP: the key the server must present (pinned on first use).
        "host_key": site.host_key,
    }


def _expectation(spec: dict[str, Any] | None) -> dict[str, Any] | None:
    if not spec:
        return None
    out = {k: spec[k] for k in ("checksum", "filesize") if spec.get(k) is not None}
    return out or None


def _replicas(
    session: Session,
    box: SecretBox,
    spec: dict[str, Any] | None,
    user_id: int,
    sites: dict[tuple[int | None, int], Any],
) -> list[dict[str, Any]] | None:
    """A listed file's other replicas, each with its site (and the owner's credential)."""
    if not spec or not spec.get("sources"):
        return None
    out = []
    for replica in spec["sources"]:
        key = (replica["siteid"], user_id)
        if key not in sites:
            sites[key] = site_payload(session, box, replica["siteid"], user_id)
        if sites[key] is not None:  # a site deleted since: skipped
            out.append({**replica, "site": sites[key]})
    return out


def lease_payload(
    session: Session,
    box: SecretBox,
    by_job: dict[int, list[Candidate]],
    token: str,
    expires: datetime,
) -> list[dict[str, Any]]:
    jobs = {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(list(by_job))))}
    out = []
    sites: dict[tuple[int | None, int], Any] = {}
    names: dict[int, str] = {}
    lease_expires = expires.isoformat()
    for job_id, cands in by_job.items():
        job = jobs[job_id]
        for site_id in (job.src_siteid, job.dst_siteid):
            if (site_id, job.user_id) not in sites:
                sites[(site_id, job.user_id)] = site_payload(session, box, site_id, job.user_id)
        depth = int(job.extra_opts.get("depth", 1)) if job.type == JobType.LIST else 0
        for c in cands:
            if c.type not in names:
                names[c.type] = type_name(session, c.type)
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
                # A retry trusts a destination as its own only if it is not
                # older than this (worker/own_work.py).
                "submitted": as_utc(job.timestamp).isoformat(),  # type: ignore[union-attr]
                "src_site": sites[(job.src_siteid, job.user_id)],
                "dst_site": sites[(job.dst_siteid, job.user_id)],
                "elements": [
                    {
                        "id": c.id,
                        "job_id": job_id,
                        "type": names[c.type],
                        "src_filepath": c.src_filepath,
                        "dst_filepath": c.dst_filepath,
                        "size": c.size,
                        "attempts": c.attempts,
                        "attempt_seq": c.attempt_seq,
                        "max_tries": c.max_tries,
                        "depth": depth if c.type == JobType.LIST else None,
                        "mode": c.mode,
                        # What the source must match ({checksum, filesize}), if listed so.
                        "expect": _expectation(c.spec),
                        "sources": _replicas(session, box, c.spec, job.user_id, sites),
                        "token": f"{token}.{c.id}",
                        "lease_expires": lease_expires,
                    }
                    for c in cands
                ],
            }
        )
    return out
