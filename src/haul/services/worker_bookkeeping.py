"""The worker routes' bookkeeping after their service call: the worker's activity.

A claim, a batch of heartbeats or of results the service accepted is
recorded in ``worker_activity`` (last contact, types, byte rates) in the same
transaction, inside a savepoint: a failure there is logged and rolled back
alone, and never turns a worker's accepted report into an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.orm import Session

from haul.services import worker_activity
from haul.services.worker_activity import Progress

log = logging.getLogger("haul.metrics")


def _record(session: Session, what: str, write: Callable[[], Any]) -> None:
    try:
        with session.begin_nested():
            write()
    except Exception:  # bookkeeping must never fail a worker's report
        log.exception("recording worker %s failed", what)


def after_claim(
    session: Session,
    worker_id: int,
    types: Iterable[Any] | None,
    protocols: Iterable[Any] | None,
    n: int,
) -> None:
    """A claim of ``n`` elements (none too: an idle worker is still alive)."""
    _record(
        session, "claim", lambda: worker_activity.claimed(session, worker_id, types, protocols, n)
    )


def after_heartbeats(session: Session, worker_id: int, accepted: list[Progress]) -> None:
    if accepted:
        _record(
            session, "heartbeat", lambda: worker_activity.heartbeats(session, worker_id, accepted)
        )


def after_results(
    session: Session, worker_id: int, accepted: list[Progress], host: str = ""
) -> None:
    if accepted:
        _record(
            session,
            "result",
            lambda: worker_activity.results(session, worker_id, accepted, host=host),
        )
