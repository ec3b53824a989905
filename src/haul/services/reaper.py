"""The lease reaper: leases that expired without a result become LOST attempts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.backoff import backoff_seconds
from haul.domain.errors import ErrorCode
from haul.domain.transitions import NotBefore, cancelling, on_lease_lost
from haul.protocol.error_report import ErrorReport
from haul.services.judging import ATTEMPT_COLUMNS, ATTEMPTS
from haul.services.leases import Policy
from haul.services.stages import after_element_change
from haul.store.bulk import insert_rows
from haul.store.clock import utcnow
from haul.store.queries.lease_lost import expired_leases, lose_lease
from haul.store.tables import Job

# The error an attempt ends with when its lease ran out (stored as a worker's would be).
_LOST = ErrorReport(
    code=ErrorCode.LOST, message="the worker holding the lease stopped reporting"
).as_dict()


def lose_expired(session: Session, policy: Policy, limit: int = 1000) -> int:
    """Leases that expired without a result become failed attempts coded LOST.

    Each element is changed by an UPDATE guarded by the token and statuses it
    was read with (and the lease still being expired): a result that got
    there first wins, and the reaper then leaves that element alone. Only the
    elements it did change get a LOST attempt.
    """
    now = utcnow()
    rows = expired_leases(session, now, limit)
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
        if not lose_lease(
            session,
            row.job_id,
            row.id,
            row.lease_token,
            status=ended.status,
            attempts=ended.attempts,
            attempt_seq=ended.attempt_seq,
            not_before=not_before,
            now=now,
        ):
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
