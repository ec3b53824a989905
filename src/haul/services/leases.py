"""Leases: who may report on an element, and the guards every report's UPDATE carries.

A report must carry the element's current lease token; anything else is a
stale lease and is refused with 409, changing nothing. Reading the row and
checking is not enough on PostgreSQL, where another transaction (the reaper,
a control verb) may change the row between the read and the write: so every
UPDATE of a report also names the token and the statuses it expects, and
its row count says whether it won.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm import Session

from haul.domain.enums import LEASED, JobStatus
from haul.services.errors import Conflict, NotFound
from haul.store.dialect import executemany_rowcount
from haul.store.queries.leased import TOKEN_GUARD, guarded_update, write_leased
from haul.store.queries.leased import E as E

# Every element UPDATE of a report names the lease token and the statuses it
# expects: a row that changed meanwhile is not matched (and is answered 409).
GUARD = TOKEN_GUARD
_TAKE = guarded_update(timestamp=bindparam("v_now"))


@dataclass
class Policy:
    lease_seconds: int = 120
    backoff_base: float = 2.0
    backoff_cap: float = 600.0
    rng: random.Random = field(default_factory=random.Random)


def leased(
    session: Session,
    job_id: int,
    element_id: int,
    token: str,
    loaded: dict[tuple[int, int], Any],
) -> Any:
    element = loaded.get((job_id, element_id))
    if element is None:
        raise NotFound(f"job {job_id} has no element {element_id}")
    if element.lease_token != token or element.status not in LEASED:
        raise Conflict(
            f"element {job_id}.{element_id}: lease is not current (status "
            f"{JobStatus(element.status).name}); the report was ignored"
        )
    return element


def take_leases(
    session: Session, keys: list[tuple[int, int, str]], now: datetime
) -> set[tuple[int, int]]:
    """The (job, element) keys whose lease is still ``token`` and leased, now taken.

    One guarded ``UPDATE ... RETURNING`` per job (and chunk): a row whose token
    or status changed since it was read is not matched, so its item is not
    written. On PostgreSQL the rows matched stay locked until the transaction
    ends, so nothing (the reaper, a control verb) changes them meanwhile; on
    SQLite writers are serialised anyway. Keys go in (job, id) order, the
    order every writer locks rows in, so two writers never deadlock on them.
    """
    by_job: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for job_id, element_id, token in sorted(keys):
        by_job[job_id].append((element_id, token))
    won: set[tuple[int, int]] = set()
    for job_id, items in by_job.items():
        won.update((job_id, i) for i in write_leased(session, _TAKE, job_id, items, {"v_now": now}))
    return won

# A report's executemany UPDATE counts rows where the driver can (store/dialect.py).
rowcount = executemany_rowcount
