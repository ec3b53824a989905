"""How much work a worker leases beyond what it runs: enough to keep every slot busy, no more.

A worker that claims only what it can start leaves its slots idle for a claim
round trip after every batch, which for small files is most of the time. A
worker that claims thousands ahead strands them when it dies (they wait for
their leases to run out) and starves the other workers of a shared queue.
So the queue beyond the running elements is sized from what the worker has
measured (docs/cli.md, "Claiming ahead"):

- the queue holds QUEUE_SECONDS of the worker's observed throughput, by
  number and by bytes: what it finished in the last QUEUE_SECONDS, or, when
  it started finishing things more recently than that, its rate since then
  (over at least MIN_SPAN seconds); never less than one element per slot.
  The window is at most a quarter of the lease, so a queued element starts
  long before its lease ends;
- at most ``max_queued`` elements (``--prefetch``) and BYTE_BUDGET bytes;
- it claims when slots are free or the queue has drained to half its
  target, so claims come in batches rather than one per finished element.

Throughput, not a per-element average, because the elements of one worker
differ: a LIST that takes a millisecond says nothing about the slow copies
it makes, and a queue sized from its duration would take the whole job.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

QUEUE_SECONDS = 2.0  # of observed work held queued beyond the running elements
DEFAULT_MAX_QUEUED = 500  # the default --prefetch: a dead worker strands at most this many
BYTE_BUDGET = 1 << 30  # queued bytes, whatever the observed rate
MIN_SPAN = 0.25  # seconds: a rate is never taken from a shorter stretch of work


@dataclass(frozen=True)
class Want:
    """One claim: at most `limit` elements and, when `size` is set, about `size` bytes."""

    limit: int
    size: int | None = None


class ClaimAhead:
    """The adaptive claim-ahead rule, with no I/O (the worker loop feeds and asks it)."""

    def __init__(self, concurrency: int, max_queued: int = DEFAULT_MAX_QUEUED) -> None:
        self.concurrency = max(1, concurrency)
        self.max_queued = max(0, max_queued)
        self.lease_seconds: float | None = None  # as the server grants them
        self._done: deque[tuple[float, int]] = deque()  # (monotonic end, bytes)
        self._done_bytes = 0

    def finished(self, now: float, nbytes: int) -> None:
        """Records one element that ended at monotonic time `now`, having moved `nbytes`."""
        self._done.append((now, nbytes))
        self._done_bytes += nbytes
        self._forget(now)

    def window(self) -> float:
        if self.lease_seconds is None:
            return QUEUE_SECONDS
        return min(QUEUE_SECONDS, self.lease_seconds / 4)

    def _forget(self, now: float) -> None:
        since = now - self.window()
        done = self._done
        while done and done[0][0] < since:
            self._done_bytes -= done.popleft()[1]

    def target(self, now: float) -> tuple[int, int | None]:
        """(elements, bytes) to hold queued; bytes is None while sizes say nothing."""
        self._forget(now)
        done = self._done
        window = self.window()
        # Seconds of work the completions stand for: the whole window once it is
        # full, else the stretch since the first of them (so the queue is sized
        # from the first tenths of a second of work, not grown claim by claim).
        span = max(MIN_SPAN, now - done[0][0]) if done else window
        scale = window / min(window, span)
        count = min(self.max_queued, max(self.concurrency, math.ceil(len(done) * scale)))
        if self._done_bytes < 1:
            return count, None
        return count, min(BYTE_BUDGET, math.ceil(self._done_bytes * scale))

    def want(self, now: float, running: int, queued: int, queued_bytes: int) -> Want | None:
        """What to claim now, holding `running` started and `queued` waiting elements."""
        free = self.concurrency - running - queued
        count, nbytes = self.target(now)
        room = self.concurrency + count - running - queued
        if room <= 0:
            return None
        if free <= 0 and queued > count // 2:
            return None  # the queue is still at least half full
        if nbytes is None:
            return Want(room)
        byte_room = nbytes - queued_bytes
        if free <= 0 and byte_room <= 0:
            return None
        # Free slots are filled whatever the sizes; the server hands out at least one.
        mean = math.ceil(self._done_bytes / max(1, len(self._done)))
        return Want(room, max(1, max(0, byte_room) + max(0, free) * mean))
