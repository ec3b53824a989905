"""What a worker token may read beyond its claims: only what its current leases need.

A worker token is not a user: it sees a site or an upload only while it
holds a lease on an element that uses it (an admin token, standing in for a
worker, sees them all).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from haul.domain.enums import LEASED, Role
from haul.store.queries import sites as site_rows
from haul.store.tables import Element, User


def holds_lease(worker: User, element: Element | None, token: str) -> bool:
    return (
        element is not None
        and element.lease_token == token
        and element.status in LEASED
        and (worker.role == Role.ADMIN or element.worker_id == worker.id)
    )


def site_in_leases(session: Session, worker: User, site_id: int) -> bool:
    """Whether the worker holds a lease on an element of a job using this site."""
    if worker.role == Role.ADMIN:
        return True
    return site_rows.in_worker_leases(session, worker.id, site_id)
