"""The claim: handing a worker a batch of elements under time-limited leases.

Namespace operations (LIST, MKDIR, RENAME, the REMOVE of one path;
haul.domain.lanes) come first, in a lane of their own
(services/namespace_lane.py), so they never wait behind transfers. Within
the lane and among transfers alike the order is: priority (0 first), then
fair share between users at equal priority (users with the fewest elements
already leased go first, then round-robin, so one user's 100,000-file job
cannot starve another user's single file), then age. Only elements whose
backoff has passed, whose job is neither paused nor cancelled and whose stage
is the job's current stage are claimable.

Atomicity: on PostgreSQL the candidate rows are locked with
``FOR UPDATE SKIP LOCKED`` so concurrent claims pass each other by; on SQLite
the whole claim runs in one ``BEGIN IMMEDIATE`` transaction (a write session).
Either way an element is never in two leases at once.

This module composes the claim from its SQL (store/queries/claim.py and
claim_levels.py) and the order's rules (claim_candidates, namespace_lane),
then builds the answer, ``protocol.leases``, with each site's credential.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.claim_limits import DEFAULT_LIMIT, DEFAULT_SIZE, MAX_BATCH
from haul.domain.enums import JobProtocol, JobType, Role
from haul.domain.lanes import ClaimLane
from haul.protocol.claims import Algorithm
from haul.protocol.leases import Expectation, LeasedJob, Replica, SiteInfo
from haul.security.secret_box import SecretBox
from haul.services import fused_copy
from haul.services.bans import banned_sites
from haul.services.claim_candidates import fair_order, per_user, round_robin, take_room
from haul.services.errors import Conflict
from haul.services.job_types import blocked_types, type_name
from haul.services.namespace_lane import select_namespace
from haul.services.sites import credential_material
from haul.store.clock import as_utc, utcnow
from haul.store.dialect import locks_rows
from haul.store.queries import claim as queries
from haul.store.queries import claim_levels
from haul.store.queries import sites as site_rows
from haul.store.queries.claim import Candidate
from haul.store.tables import User


@dataclass
class ClaimRequest:
    types: list[int]  # element type integers (built-in JobType values, or custom types)
    protocols: list[JobProtocol] | None = None
    algorithm: Algorithm = Algorithm.BY_NUMBER
    # BY_NUMBER: at most this many (DEFAULT_LIMIT when None). BY_SIZE: `size` bytes,
    # and also at most `limit` elements when the worker gives one (workers that
    # claim ahead bound a claim both ways; see haul.worker.claim_ahead).
    limit: int | None = None
    size: int = DEFAULT_SIZE
    lease_seconds: int = 120
    # "namespace": only the namespace lane (a worker whose transfer slots are all
    # busy but whose namespace slot is free); "all": the lane, then transfers.
    lane: ClaimLane = ClaimLane.ALL


def claimable(
    session: Session, types: list[int], protocols: list[JobProtocol] | None = None
) -> Any:
    """The claim's condition now: queued, due, in a running job's stage, on no banned site."""
    return queries.claimable(utcnow(), types, protocols, banned_sites(session))


def select_batch(session: Session, req: ClaimRequest, pg: bool | None = None) -> list[Candidate]:
    """The claim's elements in claim order; ``pg``: lock them (the default where the
    database takes row locks, store/dialect.py)."""
    lock = locks_rows(session) if pg is None else pg
    by_size = req.algorithm == Algorithm.BY_SIZE
    limit = req.limit if req.limit is not None else (MAX_BATCH if by_size else DEFAULT_LIMIT)
    count_cap = min(limit, MAX_BATCH)
    namespace_only = req.lane == ClaimLane.NAMESPACE
    levels = {} if namespace_only else claim_levels.levels(session)
    lane = claim_levels.lane_levels(session) if namespace_only or levels else {}
    if not levels and not lane:
        return []
    paused, room = blocked_types(session)
    types = [t for t in req.types if t not in paused and room.get(t, 1) > 0]
    if not types:
        return []
    leased = queries.leased_counts(session)
    condition = claimable(session, types, req.protocols)
    # Namespace operations first, outside the size cap (services/namespace_lane.py).
    chosen = select_namespace(session, lane, condition, leased, count_cap, room, lock)
    if namespace_only:
        return chosen
    taken = {c.key for c in chosen}
    first = len(chosen)  # the first transfer is taken whatever its size
    total_size = 0
    for priority in sorted(levels):
        users = fair_order(levels[priority], leased)
        want = count_cap - len(chosen)
        for cand in round_robin(per_user(session, condition, priority, users, want, lock)):
            if len(chosen) >= count_cap:
                break
            if cand.key in taken:
                continue  # already chosen by the namespace lane
            over = total_size + cand.size > req.size
            if by_size and len(chosen) > first and over:
                continue  # too big for what is left; smaller ones behind it may fit
            if not take_room(room, cand.type):
                continue  # the type's max_scheduled is reached
            chosen.append(cand)
            total_size += cand.size
            if by_size and total_size >= req.size:
                break
        if len(chosen) >= count_cap or (by_size and total_size >= req.size):
            break
    return chosen


def claim(
    session: Session, box: SecretBox, worker: User, req: ClaimRequest, pg: bool | None = None
) -> list[LeasedJob]:
    """Leases a batch under one token per claim (store/queries/claim.py: ``lease``).

    The chosen rows are locked (PostgreSQL) or the claim's transaction is the
    only writer (SQLite), so the lease takes every one; if it did not, the
    answer would name leases the database does not hold, so the claim is undone.
    """
    chosen = select_batch(session, req, pg)
    if not chosen:
        return []
    now = utcnow()
    expires = now + timedelta(seconds=req.lease_seconds)
    token = secrets.token_hex(16)
    keys = [c.key for c in chosen]
    if queries.lease(session, keys, token, expires, worker.id, now) != len(set(keys)):
        raise Conflict("the claim's elements changed while they were leased; claim again")
    by_job: dict[int, list[Candidate]] = defaultdict(list)
    for c in chosen:
        by_job[c.job_id].append(c)
    leases = lease_payload(session, box, by_job, token, expires)
    fused_copy.offer(session, leases, req.types)
    return leases


def site_payloads(
    session: Session, box: SecretBox, pairs: Iterable[tuple[int | None, int]]
) -> dict[tuple[int | None, int], SiteInfo | None]:
    """The ``SiteInfo`` of each (site, user) pair: every site read in one statement
    (store/queries/sites.py: lease_sites), the user's credential per pair; None for
    no site or a deleted one."""
    pairs = list(dict.fromkeys(pairs))
    rows = site_rows.lease_sites(session, sorted({s for s, _ in pairs if s is not None}))
    out: dict[tuple[int | None, int], SiteInfo | None] = {}
    for site_id, user_id in pairs:
        site = rows.get(site_id) if site_id is not None else None
        if site is None:
            out[(site_id, user_id)] = None
            continue
        out[(site_id, user_id)] = {
            "site_id": site.id,
            "site_name": site.name,
            "def_path": site.def_path,
            "endpoints": list(site.urls),
            "credential": credential_material(session, box, user_id, site.id) or None,
            "trusted": site.owner_role is None or site.owner_role == Role.ADMIN,  # see SiteInfo
            "host_key": site.host_key,
        }
    return out


def site_payload(
    session: Session, box: SecretBox, site_id: int | None, user_id: int
) -> SiteInfo | None:
    return site_payloads(session, box, [(site_id, user_id)])[(site_id, user_id)]


def _expectation(spec: dict[str, Any] | None) -> Expectation | None:
    if not spec:
        return None
    out = {k: spec[k] for k in ("checksum", "filesize") if spec.get(k) is not None}
    return out or None  # type: ignore[return-value]


def _replicas(
    session: Session,
    box: SecretBox,
    spec: dict[str, Any] | None,
    user_id: int,
    sites: dict[tuple[int | None, int], SiteInfo | None],
) -> list[Replica] | None:
    """A listed file's other replicas, each with its site (and the owner's credential)."""
    if not spec or not spec.get("sources"):
        return None
    out: list[Replica] = []
    for replica in spec["sources"]:
        key = (replica["siteid"], user_id)
        if key not in sites:
            sites[key] = site_payload(session, box, replica["siteid"], user_id)
        site = sites[key]
        if site is not None:  # a site deleted since: skipped
            out.append({**replica, "site": site})
    return out


def lease_payload(
    session: Session,
    box: SecretBox,
    by_job: dict[int, list[Candidate]],
    token: str,
    expires: datetime,
) -> list[LeasedJob]:
    """The claim's answer (``protocol.leases``): dict literals, typed, built once per element."""
    jobs = queries.lease_jobs(session, by_job)
    out: list[LeasedJob] = []
    sites: dict[tuple[int | None, int], SiteInfo | None] = {}
    names: dict[int, str] = {}
    lease_expires = expires.isoformat()
    sites.update(
        site_payloads(
            session,
            box,
            [(s, job.user_id) for job in jobs.values() for s in (job.src_siteid, job.dst_siteid)],
        )
    )
    for job_id, cands in by_job.items():
        job = jobs[job_id]
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
