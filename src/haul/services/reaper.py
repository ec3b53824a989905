"""The lease reaper: leases that expired without a result become LOST attempts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from haul.domain.backoff import backoff_seconds
from haul.domain.enums import LEASED
from haul.domain.errors import ErrorCode
from haul.domain.transitions import NotBefore, cancelling, on_lease_lost
from haul.protocol.error_report import ErrorReport
from haul.services.judging import ATTEMPT_COLUMNS, ATTEMPTS
from haul.services.leases import GUARD, E, Policy
from haul.services.stages import after_element_change
from haul.store.bulk import insert_rows
from haul.store.clock import utcnow
from haul.store.element_rows import keyed_update
from haul.store.tables import Job

# The error an attempt ends with when its lease ran out (stored as a worker's would be).
_LOST = ErrorReport(
    code=ErrorCode.LOST, message="the worker holding the lease stopped reporting"
).as_dict()
_LOSE_COLUMNS = (
    E.lease_token,
    E.attempts,
    E.attempt_seq,
    E.max_tries,
    E.command,
    E.mode,
    E.started,
)
_LOSE_UPDATE = keyed_update(
    status=bindparam("v_status"),
    attempts=bindparam("v_attempts"),
    attempt_seq=bindparam("v_seq"),
    lease_token=None,
    lease_expires=None,
    timestamp=bindparam("v_now"),
    not_before=bindparam("v_not_before"),
).where(*GUARD, E.lease_expires < bindparam("v_now"))


def lose_expired(session: Session, policy: Policy, limit: int = 1000) -> int:
    """Leases that expired without a result become failed attempts coded LOST.

    Each element is changed by an UPDATE guarded by the token and statuses it
    was read with (and the lease still being expired): a result that got
    there first wins, and the reaper then leaves that element alone. Only the
    elements it did change get a LOST attempt.
    """
    now = utcnow()
    rows = list(
        session.execute(
            select(E.job_id, E.id, *_LOSE_COLUMNS)
            .where(E.status.in_(LEASED), E.lease_expires < now)
            .order_by(E.job_id, E.id)
            .limit(limit)
            # PostgreSQL: lock the expired rows now, in key order, skipping those a
            # result is writing. Without it a result batch (whose UPDATE locks rows
            # in heap order) and the reaper (key order) could each hold what the
            # other waits for: a deadlock, answered 503. SQLite ignores the clause.
            .with_for_update(skip_locked=True)
        )
    )
    jobs: dict[int, Job] = {}
    attempts: list[tuple[Any, ...]] = []
    for row in rows:
        job = jobs.get(row.job_id) or session.get(Job, row.job_id)
        assert job is not None
        ended = on_lease_lost(
            attempts=row.attempts,
            attempt_seq=row.attempt_seq,
            max_tries=row.max_tries,
            mode=row.mode,
            cancelling=cancelling(job.cancelled, row.command),
        )
        not_before = None
        if ended.not_before is NotBefore.BACKOFF:
            delay = backoff_seconds(
                ended.attempts, policy.backoff_base, policy.backoff_cap, policy.rng
            )
            not_before = now + timedelta(seconds=delay)
        changed = session.execute(
            _LOSE_UPDATE,
            {
                "k_job": row.job_id,
                "k_id": row.id,
                "k_token": row.lease_token,
                "v_status": int(ended.status),
                "v_attempts": ended.attempts,
                "v_seq": ended.attempt_seq,
                "v_now": now,
                "v_not_before": not_before,
            },
            execution_options={"synchronize_session": False},
        ).rowcount
        if changed != 1:
            continue  # a result (or a steer) got there first
        jobs[job.id] = job
        attempts.append(
            (
                row.job_id,
                row.id,
                ended.attempt_seq,
                int(ended.attempt_status),
                None,
                "",
                "lease expired without a result from the worker",
                _LOST,
                None,
                None,
                row.started,
                now,
            )
        )
    insert_rows(session, ATTEMPTS, ATTEMPT_COLUMNS, attempts, skip_existing=True)
    for job in jobs.values():
        after_element_change(session, job)
    return len(attempts)
