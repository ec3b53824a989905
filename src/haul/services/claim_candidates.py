"""The order a claim hands candidates out in, at one priority.

Shared by the claim's two passes (services/claims.py for transfers,
services/namespace_lane.py for namespace operations), which differ only in
the condition they pass and the index that condition lets the database use.
The order within a priority is the one home of fair share: users by
``fair_key`` (``fair_order``), their candidates in rounds (``round_robin``),
each user's by ``AGE`` (store/queries/claim.py: ``candidates``, which reads
them). ``turns_before`` counts what that order puts ahead of a candidate,
for services/claim_position.py (explain).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from haul.store.queries.claim import Candidate, candidates


def round_robin(per_user: list[list[Candidate]]) -> list[Candidate]:
    """Users' candidates interleaved: each user's first, then each one's second..."""
    out: list[Candidate] = []
    depth = max((len(c) for c in per_user), default=0)
    for i in range(depth):
        out.extend(c[i] for c in per_user if i < len(c))
    return out


def fair_key(user_id: int, leased: dict[int, int]) -> tuple[int, int]:
    """A user's place in each round at one priority: fewest leases held first."""
    return (leased.get(user_id, 0), user_id)


def fair_order(users: list[int], leased: dict[int, int]) -> list[int]:
    """Fair share at one priority: users holding the fewest leases go first."""
    return sorted(users, key=lambda u: fair_key(u, leased))


def turns_before(
    user_id: int, others: dict[int, tuple[int, int]], leased: dict[int, int]
) -> int:
    """How many of other users' candidates ``round_robin`` hands out before one of
    ``user_id``'s, users in ``fair_order``.

    If the candidate is its user's ``rank``-th (0: the first), it comes in round
    ``rank``: after every other user's first ``rank`` candidates, and after
    their next one too when ``fair_order`` puts them first. ``others`` maps each
    other user to (how many of their first ``rank`` candidates are counted, how
    many of their next one: 0 or 1), so a caller may count only some
    candidates (explain counts transfers, not the lane's elements the transfer
    pass skips).
    """
    mine = fair_key(user_id, leased)
    return sum(
        first + (following if fair_key(other, leased) < mine else 0)
        for other, (first, following) in others.items()
    )


def per_user(
    session: Session, claimable: Any, priority: int, users: list[int], want: int, lock: bool
) -> list[list[Candidate]]:
    """Candidates of up to `want` users, in the order given (``lock``: their rows).

    A user listed by the levels may have nothing claimable (other types, paused
    job, backoff, banned site, later stage): skipped rather than let them take
    one of the `want` user slots, or a claim answers 404 beside work.
    """
    found: list[list[Candidate]] = []
    for u in users:
        if len(found) >= want:
            break
        cands = candidates(session, claimable, priority, u, want, lock)
        if cands:
            found.append(cands)
    return found


def take_room(room: dict[int, int], element_type: int) -> bool:
    """Counts one element against its type's max_scheduled; False once that is reached."""
    if element_type not in room:
        return True
    if room[element_type] <= 0:
        return False
    room[element_type] -= 1
    return True
