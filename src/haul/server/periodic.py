"""Periodic server tasks (lease reaping), run by one server process at a time.

With several servers on one PostgreSQL, each tick takes a transaction-scoped
advisory lock first; whoever does not get it skips the tick. SQLite is a
single-host database and its write transactions already serialise.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from haul.store.database import Database
from haul.store.dialect import try_advisory_lock

log = logging.getLogger("haul.periodic")

REAPER_LOCK = 0x4A01
HOUSEKEEPING_LOCK = 0x4A03  # retention and upload clean-up


def holds_lock(session: Session, key: int) -> bool:
    return try_advisory_lock(session, key)


class Periodic:
    def __init__(
        self, db: Database, every: float, lock: int, task: Callable[[Session], object], name: str
    ) -> None:
        self.db, self.every, self.lock, self.task, self.name = db, every, lock, task, name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def tick(self) -> None:
        with self.db.write() as session:
            if holds_lock(session, self.lock):
                self.task(session)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.tick()
            except Exception:  # a failed tick must not kill the loop
                log.exception("periodic task %s failed", self.name)
