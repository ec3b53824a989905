"""The claim's namespace lane: namespace operations before any transfer.

A LIST ordered by (job, element) behind its user's queued copies waited for
them all (`haul list` took 33 s; a COPY of a missing path sat NEW for two
minutes behind its own user's copies). So a claim first serves the lane:
the elements ``haul.domain.lanes`` calls namespace operations, in the same
order as transfers among themselves (priority, then fair share between users
by leases held, then age), and only then transfers. Lane elements count
against a claim's number of elements but not its bytes (a REMOVE's size is
the file it removes, not work), so a big BY_SIZE claim never skips them, and
a worker whose transfer slots are full can ask for the lane alone.

The lane is read through the partial index ``ix_elements_lane``, which holds
only queued namespace elements: finding them costs what the lane holds, not
what the queue holds (store/queries/claim_levels.py: ``lane_levels``; the
lane's rule as SQL is store/queries/claim.py: ``in_lane``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_
from sqlalchemy.orm import Session

from haul.services.claim_candidates import fair_order, per_user, round_robin, take_room
from haul.store.queries.claim import Candidate, in_lane


def select_namespace(
    session: Session,
    found: dict[int, list[int]],
    claimable: Any,
    leased: dict[int, int],
    count_cap: int,
    room: dict[int, int],
    lock: bool,
) -> list[Candidate]:
    """Up to `count_cap` claimable namespace elements, in claim order; `found`
    is what ``claim_levels.lane_levels`` answered (``lock``: their rows)."""
    if not found:
        return []
    claimable_in_lane = and_(claimable, in_lane())
    chosen: list[Candidate] = []
    for priority in sorted(found):
        want = count_cap - len(chosen)
        users = fair_order(found[priority], leased)
        for cand in round_robin(per_user(session, claimable_in_lane, priority, users, want, lock)):
            if len(chosen) >= count_cap:
                break
            if take_room(room, cand.type):
                chosen.append(cand)
        if len(chosen) >= count_cap:
            break
    return chosen
