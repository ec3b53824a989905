"""Progress of one copy as the worker reports it: bytes, seconds and rates."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

PROGRESS_INTERVAL = 0.5


@dataclass(frozen=True)
class Progress:
    """Bytes so far, seconds so far, and rates in bytes/s (since last report, overall)."""

    transferred: int
    elapsed: float
    instant: float
    average: float


class Reporter:
    """Calls back with a `Progress` at most every PROGRESS_INTERVAL seconds, and at the end."""

    def __init__(self, callback: Callable[[Progress], None] | None) -> None:
        self._callback = callback
        self._start = time.monotonic()
        self._last_time = self._start
        self._last_bytes = 0

    def update(self, transferred: int, final: bool = False) -> None:
        if self._callback is None:
            return
        now = time.monotonic()
        # The first bytes are reported at once, so an element that finishes
        # within PROGRESS_INTERVAL still shows what it moved while it runs.
        if not final and self._last_bytes and now - self._last_time < PROGRESS_INTERVAL:
            return
        elapsed = now - self._start
        span = now - self._last_time
        instant = (transferred - self._last_bytes) / span if span > 0 else 0.0
        average = transferred / elapsed if elapsed > 0 else 0.0
        self._last_time, self._last_bytes = now, transferred
        self._callback(Progress(transferred, elapsed, instant, average))
