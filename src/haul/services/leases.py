"""Leases: who may report on an element, and the lease settings of reports.

A report must carry the element's current lease token; anything else is a
stale lease and is refused with 409, changing nothing. Reading the row and
checking (``leased``) is not enough on PostgreSQL, where another transaction
(the reaper, a control verb) may change the row between the read and the
write: so every UPDATE of a report also names the token and the statuses it
expects, and its row count says whether it won (``store/queries/leased.py``,
``results.py``, ``heartbeats.py``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import LEASED, JobStatus
from haul.services.errors import Conflict, NotFound


@dataclass
class Policy:
    """How long a lease lasts, and the backoff after a failed attempt (the server's settings)."""

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
    """The element's row from ``loaded`` if ``token`` is its current lease; else 404 or 409."""
    element = loaded.get((job_id, element_id))
    if element is None:
        raise NotFound(f"job {job_id} has no element {element_id}")
    if element.lease_token != token or element.status not in LEASED:
        raise Conflict(
            f"element {job_id}.{element_id}: lease is not current (status "
            f"{JobStatus(element.status).name}); the report was ignored"
        )
    return element
