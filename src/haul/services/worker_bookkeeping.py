"""The worker routes' bookkeeping after their service call: the worker's activity.

A claim, a batch of heartbeats or of results the service accepted is
recorded in ``worker_activity`` (last contact, types, byte rates) in the same
transaction, inside a savepoint: a failure there is logged and rolled back
alone, and never turns a worker's accepted report into an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

log = logging.getLogger("haul.metrics")


def record(session: Session, what: str, write: Callable[[], Any]) -> None:
    """Runs one of `worker_activity`'s writes (`what` names it in the log) in a savepoint."""
    try:
        with session.begin_nested():
            write()
    except Exception:  # bookkeeping must never fail a worker's report
        log.exception("recording worker %s failed", what)
