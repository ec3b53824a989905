"""Where a queued element stands in the claim's order: how many a claim hands out first.

The order is the claim's own, read from the claim's parts rather than
restated: ``select_batch`` (services/claims.py) serves the namespace lane
first (store/queries/claim.py: ``in_lane``, the rule of haul.domain.lanes),
then transfers, each pass by priority (0 first) and, at one priority, users
in rounds (services/claim_candidates.py: ``fair_order``, ``round_robin``),
each user's by ``AGE`` (store/queries/claim.py). A claim reads the
candidates one by one; this counts them with the same conditions, so the
answer costs a few COUNTs however long the line is.

It is the answer for one claim by a worker asking for the element's type, as
if that claim could take everything ahead (several smaller claims shift fair
share as leases are taken, so a long line's position is an estimate). The
transfer pass reads the lane's elements too and skips them (the lane took
them): they use up their user's turns in the rounds without being handed
out, which is why what counts and what takes turns are separate conditions.
"""

from __future__ import annotations

from sqlalchemy import and_, not_, true
from sqlalchemy.orm import Session

from haul.domain.lanes import is_namespace
from haul.services import queue_load
from haul.services.claim_candidates import turns_before
from haul.store.queries.claim import in_lane, leased_counts
from haul.store.queries.claim_position import before, count_where, others_turns
from haul.store.tables import Element, Job


def ahead_of(session: Session, element: Element, job: Job) -> dict[str, int]:
    """What a claim for ``element``'s type hands out before it.

    ``higher_priority``: elements of a more urgent priority in its pass;
    ``same_user``: its own user's older ones at its priority; ``fair_share``:
    other users' turns before it at its priority. A transfer also waits for
    the whole namespace lane (``namespace_lane``), which a lane element does
    not have.
    """
    claimable = queue_load.claimable_now(session, [element.type])
    lane = in_lane()
    in_the_lane = is_namespace(element.type, element.id, element.src_filepath, job.src_filepath)
    # Which elements take turns in its pass, and which of them are handed out there.
    takes_turns = and_(claimable, lane) if in_the_lane else claimable
    counted = true() if in_the_lane else not_(lane)
    at_priority = and_(takes_turns, Element.priority == element.priority)
    older = and_(at_priority, Element.user_id == element.user_id, before(element))
    rank = count_where(session, older)
    ahead = {
        "higher_priority": count_where(
            session, takes_turns, counted, Element.priority < element.priority
        ),
        "same_user": rank if in_the_lane else count_where(session, older, counted),
        "fair_share": turns_before(
            element.user_id,
            others_turns(session, at_priority, counted, element.user_id, rank),
            leased_counts(session),
        ),
    }
    if not in_the_lane:
        ahead["namespace_lane"] = count_where(session, claimable, lane)
    return ahead
