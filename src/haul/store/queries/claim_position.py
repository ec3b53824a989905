"""The counts that place a queued element in the claim's order
(`services/claim_position.py` composes them from the claim's own conditions)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from haul.store.queries.claim import AGE
from haul.store.tables import Element, Job


def count_where(session: Session, *where: Any) -> int:
    """How many elements (joined to their jobs) meet every condition."""
    query = select(func.count()).select_from(Element).join(Job, Job.id == Element.job_id)
    return session.scalar(query.where(*where)) or 0


def before(element: Element) -> Any:
    """Elements of the same user that ``AGE`` puts first."""
    return or_(
        Element.job_id < element.job_id,
        and_(Element.job_id == element.job_id, Element.id < element.id),
    )


def others_turns(
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
