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
But throughput counted over wall time undersells a worker whose slots wait
for claims: a small queue starves the slots, the starved slots finish less,
and the next queue is sized from that (a job of small files was claimed 7,
7, 16, 20, 44... at a time for its first seconds). So the span the
completions stand for is the time the slots were busy (the elements'
summed durations over the slots), when that is shorter than the wall time:
the rate of a busy worker, not of a waiting one. MIN_SPAN still bounds it,
so one fast LIST sizes nothing. Completions that moved bytes are bounded by
the shorter MIN_BYTE_SPAN instead: their queue is also held to their bytes
(by BYTE_BUDGET and the rate), so a few fast small copies may size a big
queue of small files at once. With MIN_SPAN alone the first claims after a
LIST of 1,000 small files took 7, 59, 153, 351 elements, and the slots ran
dry while each claim was answered (40-160 ms on a busy 2-core machine).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

QUEUE_SECONDS = 2.0  # of observed work held queued beyond the running elements
DEFAULT_MAX_QUEUED = 500  # the default --prefetch: a dead worker strands at most this many
BYTE_BUDGET = 1 << 30  # queued bytes, whatever the observed rate
MIN_SPAN = 0.25  # seconds: a rate is never taken from a shorter stretch of work
MIN_BYTE_SPAN = 0.05  # the same, when the completions moved bytes (the byte bound holds)


# Namespace operations asked for at once when only the namespace lane is free:
# they run one after another on its thread, so a few, not a queue's worth.
NAMESPACE_BATCH = 8
# How often a worker whose transfer slots and queue are full asks for
# namespace work. Such a claim does not long-poll: while it waited (it used
# to, for a second) the worker could not claim transfers, and a queue of
# small files ran dry every second (local-small: 1 s gaps between bursts).
NAMESPACE_POLL_SECONDS = 0.25


@dataclass(frozen=True)
class Want:
    """One claim: at most `limit` elements and, when `size` is set, about `size` bytes.

    `lane` "namespace" asks for namespace operations only (haul.domain.lanes):
    the worker's transfer slots and queue are full but its namespace lane is free.
    """

    limit: int
    size: int | None = None
    lane: str = "all"


NAMESPACE_WANT = Want(NAMESPACE_BATCH, lane="namespace")


class ClaimAhead:
    """The adaptive claim-ahead rule, with no I/O (the worker loop feeds and asks it)."""

    def __init__(self, concurrency: int, max_queued: int = DEFAULT_MAX_QUEUED) -> None:
        self.concurrency = max(1, concurrency)
        self.max_queued = max(0, max_queued)
        self.lease_seconds: float | None = None  # as the server grants them
        # (monotonic end, bytes, seconds it ran; None: unknown)
        self._done: deque[tuple[float, int, float | None]] = deque()
        self._done_bytes = 0
        self._busy = 0.0  # summed seconds of the elements in _done that say how long they ran
        self._timed = 0  # how many of them say so

    def finished(self, now: float, nbytes: int, seconds: float | None = None) -> None:
        """Records one element that ended at monotonic time `now`, having moved
        `nbytes` in `seconds` (how long it ran, when known)."""
        self._done.append((now, nbytes, seconds))
        self._done_bytes += nbytes
        if seconds is not None:
            self._busy += max(0.0, seconds)
            self._timed += 1
        self._forget(now)

    def window(self) -> float:
        if self.lease_seconds is None:
            return QUEUE_SECONDS
        return min(QUEUE_SECONDS, self.lease_seconds / 4)

    def _forget(self, now: float) -> None:
        since = now - self.window()
        done = self._done
        while done and done[0][0] < since:
            _, nbytes, seconds = done.popleft()
            self._done_bytes -= nbytes
            if seconds is not None:
                self._busy -= max(0.0, seconds)
                self._timed -= 1
        if not done:
            self._busy, self._timed = 0.0, 0  # no float residue

    def target(self, now: float) -> tuple[int, int | None]:
        """(elements, bytes) to hold queued; bytes is None while sizes say nothing."""
        self._forget(now)
        done = self._done
        window = self.window()
        # Seconds of work the completions stand for: the whole window once it is
        # full, else the stretch since the first of them (so the queue is sized
        # from the first tenths of a second of work, not grown claim by claim).
        span = now - done[0][0] if done else window
        if done and self._timed == len(done):
            span = min(span, self._busy / self.concurrency)  # the slots' busy time
        span = max(MIN_SPAN if self._done_bytes < 1 else MIN_BYTE_SPAN, span)
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
