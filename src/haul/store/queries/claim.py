"""The claim's SQL: what is claimable, one user's candidates, and the lease write.

The claim's order is composed in services/claims.py (and claim_candidates,
namespace_lane) from these statements; the levels it starts from (which
users have queued work at which priority) are in ``claim_levels``.

Atomicity: on PostgreSQL the candidate rows are locked with ``FOR UPDATE
SKIP LOCKED`` so concurrent claims pass each other by; on SQLite the whole
claim runs in one ``BEGIN IMMEDIATE`` transaction. So the lease write,
guarded by the status the candidates were read in (NEW), matches every row
it is given; its row count says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, bindparam, cast, func, or_, select, text, update
from sqlalchemy.orm import Session

from haul.domain.enums import LEASED, JobProtocol, JobStatus, JobType
from haul.domain.lanes import namespace_sql
from haul.store.dialect import for_update, in_values, not_a_key
from haul.store.key_groups import rectangles
from haul.store.keyed_elements import ELEMENTS
from haul.store.tables import Element, Job

_J = Job.__table__.c
# What a lease names of its job (services/claims.py: lease_payload), as plain
# rows: no ORM object per job, and none of the JSON a lease does not carry
# (metadata, params, result, recover).
_LEASE_JOBS = select(
    _J.id, _J.user_id, _J.type, _J.type_name, _J.src_siteid, _J.dst_siteid,
    _J.src_filepath, _J.dst_filepath, _J.extra_opts, _J.priority, _J.protocol,
    _J.log_uid, _J.request, _J.timestamp,
).where(in_values(_J.id, "l_jobs"))
# A user's candidates at one priority, oldest first: job, then element.
AGE = (Element.job_id, Element.id)
_NEW = int(JobStatus.NEW)


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

    @property
    def key(self) -> tuple[int, int]:
        return (self.job_id, self.id)


def claimable(
    now: datetime,
    types: list[int],
    protocols: list[JobProtocol] | None = None,
    banned: Iterable[int] = (),
) -> Any:
    """Queued elements of these types a claim may take now (over elements joined to jobs).

    Their backoff has passed, their job is neither paused nor cancelled,
    they are in the job's current stage, the job speaks one of
    ``protocols`` (any, when None) and touches none of the ``banned`` sites.
    """
    conds = [
        Element.status == _NEW,
        Element.type.in_(types),
        or_(Element.not_before.is_(None), Element.not_before <= now),
        Job.paused.is_(False),
        Job.cancelled.is_(False),
        Element.stage == Job.stage,
    ]
    if protocols:
        conds.append(Job.protocol.in_([int(p) for p in protocols]))
    sites = list(banned)
    if sites:
        conds.append(Job.src_siteid.not_in(sites))
        conds.append(or_(Job.dst_siteid.is_(None), Job.dst_siteid.not_in(sites)))
    return and_(*conds)


def in_lane() -> Any:
    """The namespace lane's rule (domain/lanes.py) as SQL: the indexed part, then
    the path check a one-path REMOVE needs its job for."""
    return and_(
        text(namespace_sql("elements.")),
        or_(Element.type != int(JobType.REMOVE), Element.src_filepath == Job.src_filepath),
    )


def candidates(
    session: Session, claimable: Any, priority: int, user_id: int, want: int, lock: bool
) -> list[Candidate]:
    """At most ``want`` of the user's elements matching ``claimable``, oldest job first.

    ``lock``: the rows are locked, skipping those another claim holds (on
    PostgreSQL; store/dialect.py).
    """
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
        .order_by(*AGE)
        .limit(want)
    )
    q = for_update(q, session, skip_locked=True, of=Element, when=lock)
    return [Candidate(*row) for row in session.execute(q)]


def leased_counts(session: Session) -> dict[int, int]:
    """Elements each user holds leased now: what fair share weighs."""
    rows = session.execute(
        select(Element.user_id, func.count())
        .where(Element.status.in_(LEASED))
        .group_by(Element.user_id)
    )
    return {u: n for u, n in rows}


# The lease write, built once (a claim of hundreds of elements no longer
# coerces each id into a new statement): ids as list parameters
# (dialect.in_values). Found by key, status only checked (not_a_key): on
# SQLite a plain status term made this search the claim index's every NEW
# element.
_E = ELEMENTS.c
_LEASE = (
    update(ELEMENTS)
    .where(
        in_values(_E.job_id, "l_jobs"),
        in_values(_E.id, "l_ids"),
        not_a_key(_E.status) == _NEW,
    )
    .values(
        status=int(JobStatus.SUBMITTED),
        lease_token=bindparam("l_token", type_=String) + cast(_E.id, String),
        lease_expires=bindparam("l_expires"),
        worker_id=bindparam("l_worker"),
        started=bindparam("l_now"),
        progress=None,
        command=None,
    )
)


def lease(
    session: Session,
    keys: Iterable[tuple[int, int]],
    token: str,
    expires: datetime,
    worker_id: int,
    now: datetime,
) -> int:
    """Leases the queued elements ``keys`` to the worker; returns how many.

    Each element's token is the claim's ``token`` joined to the element's
    id, computed by the database, so the lease is one ``UPDATE ... WHERE
    job_id IN (...) AND id IN (...)`` per group of jobs leasing the same
    element ids (store/key_groups.py), not one statement per element, and
    tokens still differ from element to element.
    """
    params = {"l_token": token + ".", "l_expires": expires, "l_worker": worker_id, "l_now": now}
    conn = session.connection()
    leased = 0
    for jobs, ids in rectangles(keys):
        rows = conn.execute(_LEASE, {**params, "l_jobs": jobs, "l_ids": ids})
        leased += int(rows.rowcount)
    return leased


def lease_jobs(session: Session, job_ids: Iterable[int]) -> dict[int, Any]:
    """The claimed jobs' rows a lease names, by id."""
    rows = session.connection().execute(_LEASE_JOBS, {"l_jobs": list(job_ids)})
    return {row.id: row for row in rows}
