"""Who may read and steer what a user owns (a job, an upload): its owner, and admins.

For anyone else the thing does not exist: the answer is the 404 a missing
one gets, never a 403 that would confirm it is there (docs/security.md).
"""

from __future__ import annotations

from haul.domain.enums import Role


def may_act_on(owner_id: int, user_id: int, role: str, *, admins: bool = True) -> bool:
    """True for the owner, and for admins unless ``admins`` is False."""
    return owner_id == user_id or (admins and role == Role.ADMIN)
