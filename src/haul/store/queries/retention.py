"""Retention's SQL (``services/retention.py``): bounded batches of what has outlived
its age. Each read walks an index and is capped, so a backlog goes over a few
ticks; each DELETE names its rows by key, at most ``CHUNK`` parameters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from haul.store.tables import Attempt, ListingEntry, Token

_QUIET = {"synchronize_session": False}


def attempts_ended_before(session: Session, cutoff: datetime, limit: int) -> list[Any]:
    """(id, job_id, element_id, attempt) of up to ``limit`` attempts ended before
    ``cutoff``, the oldest first."""
    return list(
        session.execute(
            select(Attempt.id, Attempt.job_id, Attempt.element_id, Attempt.attempt)
            .where(Attempt.ended < cutoff)
            .order_by(Attempt.ended)
            .limit(limit)
        ).all()
    )


def delete_listings(session: Session, keys: Sequence[tuple[int, int, int]]) -> int:
    """The listing entries of these (job, element, attempt) keys; returns how many."""
    le = ListingEntry.__table__.c
    return session.execute(
        delete(ListingEntry).where(tuple_(le.job_id, le.element_id, le.attempt).in_(keys)),
        execution_options=_QUIET,
    ).rowcount


def delete_attempts(session: Session, ids: Sequence[int]) -> int:
    return session.execute(
        delete(Attempt).where(Attempt.id.in_(list(ids))), execution_options=_QUIET
    ).rowcount


def tokens_expired(session: Session, now: datetime, limit: int) -> list[int]:
    return list(session.scalars(select(Token.id).where(Token.expires < now).limit(limit)))


def delete_tokens(session: Session, ids: Sequence[int]) -> int:
    return session.execute(
        delete(Token).where(Token.id.in_(list(ids))), execution_options=_QUIET
    ).rowcount
