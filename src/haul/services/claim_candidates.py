"""One user's claimable elements at one priority, as the claim reads them.

Shared by the claim's two passes (services/claims.py for transfers,
services/namespace_lane.py for namespace operations), which differ only in
the condition they pass and the index that condition lets the database use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haul.store.tables import Element, Job


@dataclass
class Candidate:
    """A claimable element, with what its lease payload needs (no second read)."""

    job_id: int
    id: int
    size: int
    user_id: int
    type: int
    src_filepath: str | None
    dst_filepath: str | None
    attempts: int
    attempt_seq: int  # every attempt ever: names temporaries, tells a retry (own_work.py)
    max_tries: int
    mode: str | None
    spec: dict[str, Any] | None = None  # a listed file's expectations (file_jobs.py)

    @property
    def key(self) -> tuple[int, int]:
        return (self.job_id, self.id)


def candidates(
    session: Session, claimable: Any, priority: int, user_id: int, want: int, pg: bool
) -> list[Candidate]:
    """At most `want` of the user's elements matching `claimable`, oldest job first."""
    q = (
        select(
            Element.job_id,
            Element.id,
            Element.size,
            Element.user_id,
            Element.type,
            Element.src_filepath,
            Element.dst_filepath,
            Element.attempts,
            Element.attempt_seq,
            Element.max_tries,
            Element.mode,
            Element.spec,
        )
        .join(Job, Job.id == Element.job_id)
        .where(claimable, Element.priority == priority, Element.user_id == user_id)
        .order_by(Element.job_id, Element.id)
        .limit(want)
    )
    if pg:
        q = q.with_for_update(skip_locked=True, of=Element)
    return [Candidate(*row) for row in session.execute(q)]


def round_robin(per_user: list[list[Candidate]]) -> list[Candidate]:
    """Users' candidates interleaved: each user's first, then each one's second..."""
    out: list[Candidate] = []
    depth = max((len(c) for c in per_user), default=0)
    for i in range(depth):
        out.extend(c[i] for c in per_user if i < len(c))
    return out


def fair_order(users: list[int], leased: dict[int, int]) -> list[int]:
    """Fair share at one priority: users holding the fewest leases go first."""
    return sorted(users, key=lambda u: (leased.get(u, 0), u))


def per_user(
    session: Session, claimable: Any, priority: int, users: list[int], want: int, pg: bool
) -> list[list[Candidate]]:
    """Candidates of up to `want` users, in the order given.

    A user listed by the levels may have nothing claimable (other types, paused
    job, backoff, banned site, later stage): skipped rather than let them take
    one of the `want` user slots, or a claim answers 404 beside work.
    """
    found: list[list[Candidate]] = []
    for u in users:
        if len(found) >= want:
            break
        cands = candidates(session, claimable, priority, u, want, pg)
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
