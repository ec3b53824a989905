"""The reaper's statements: leases that expired without a result, and their end.

The read locks the expired rows (on PostgreSQL) in key order, skipping those
a result is writing: a result batch (whose UPDATE locks rows in heap order)
and the reaper (key order) could otherwise each hold what the other waits
for, a deadlock answered 503. The write is guarded by the token and statuses
the row was read with and by the lease still being expired, so a result
that got there first wins and the reaper leaves that element alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from haul.domain.enums import LEASED, JobStatus
from haul.store.dialect import for_update
from haul.store.keyed_elements import ELEMENTS, keyed_update
from haul.store.queries.leased import TOKEN_GUARD

E = ELEMENTS.c
# What the reaper needs to ask transitions.on_lease_lost and to record the attempt.
EXPIRED_COLUMNS = (
    E.job_id,
    E.id,
    E.lease_token,
    E.attempts,
    E.attempt_seq,
    E.max_tries,
    E.command,
    E.mode,
    E.started,
)
_QUIET = {"synchronize_session": False}

_LOSE = keyed_update(
    status=bindparam("v_status"),
    attempts=bindparam("v_attempts"),
    attempt_seq=bindparam("v_seq"),
    lease_token=None,
    lease_expires=None,
    timestamp=bindparam("v_now"),
    not_before=bindparam("v_not_before"),
).where(*TOKEN_GUARD, E.lease_expires < bindparam("v_now"))


def expired_leases(session: Session, now: datetime, limit: int) -> list[Any]:
    """Up to ``limit`` leased elements whose lease ran out before ``now``, in key order."""
    q = (
        select(*EXPIRED_COLUMNS)
        .where(E.status.in_(LEASED), E.lease_expires < now)
        .order_by(E.job_id, E.id)
        .limit(limit)
    )
    return list(session.execute(for_update(q, session, skip_locked=True)))


def lose_lease(
    session: Session,
    job_id: int,
    element_id: int,
    token: str | None,
    *,
    status: JobStatus,
    attempts: int,
    attempt_seq: int,
    not_before: datetime | None,
    now: datetime,
) -> bool:
    """Ends the element's expired lease ``token`` with these values; whether it did.

    False when the element is no longer leased under ``token`` or its lease
    was extended: someone (a result, a steer, a heartbeat) got there first.
    """
    changed = session.execute(
        _LOSE,
        {
            "k_job": job_id,
            "k_id": element_id,
            "k_token": token,
            "v_status": int(status),
            "v_attempts": attempts,
            "v_seq": attempt_seq,
            "v_now": now,
            "v_not_before": not_before,
        },
        execution_options=_QUIET,
    ).rowcount
    return bool(changed == 1)
