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

from typing import Any

from sqlalchemy import and_, case, func, not_, or_, select, true
from sqlalchemy.orm import Session

from haul.domain.lanes import is_namespace
from haul.services import queue_load
from haul.services.claim_candidates import turns_before
from haul.store.queries.claim import AGE, in_lane, leased_counts
from haul.store.tables import Element, Job


def _count(session: Session, *where: Any) -> int:
    query = select(func.count()).select_from(Element).join(Job, Job.id == Element.job_id)
    return session.scalar(query.where(*where)) or 0


def _before(element: Element) -> Any:
    """Elements of the same user that ``AGE`` puts first."""
    return or_(
        Element.job_id < element.job_id,
        and_(Element.job_id == element.job_id, Element.id < element.id),
    )


def _others_turns(
    session: Session, at_priority: Any, counted: Any, user_id: int, rank: int
) -> dict[int, tuple[int, int]]:
    """Per other user at the priority: how many of their first ``rank`` candidates
    count, and whether their next one does (``turns_before``'s ``others``)."""
    turn = func.row_number().over(partition_by=Element.user_id, order_by=AGE).label("turn")
    counts = case((counted, 1), else_=0).label("counts")
    rows = (
        select(Element.user_id.label("user_id"), turn, counts)
        .select_from(Element)
        .join(Job, Job.id == Element.job_id)
        .where(at_priority, Element.user_id != user_id)
        .subquery()
    )
    per_user = select(
        rows.c.user_id,
        func.sum(case((rows.c.turn <= rank, rows.c.counts), else_=0)),
        func.sum(case((rows.c.turn == rank + 1, rows.c.counts), else_=0)),
    ).group_by(rows.c.user_id)
    return {
        u: (int(first or 0), int(following or 0))
        for u, first, following in session.execute(per_user)
    }


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
    older = and_(at_priority, Element.user_id == element.user_id, _before(element))
    rank = _count(session, older)
    ahead = {
        "higher_priority": _count(
            session, takes_turns, counted, Element.priority < element.priority
        ),
        "same_user": rank if in_the_lane else _count(session, older, counted),
        "fair_share": turns_before(
            element.user_id,
            _others_turns(session, at_priority, counted, element.user_id, rank),
            leased_counts(session),
        ),
    }
    if not in_the_lane:
        ahead["namespace_lane"] = _count(session, claimable, lane)
    return ahead
