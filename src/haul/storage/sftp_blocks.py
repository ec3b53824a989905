"""The blocks an SFTP read has received, handed from the loop thread to the
element thread without a round trip through the loop per block.

Profiled on 4 x 256 MiB (bench/RESULTS.md, "SFTP (session 2026-12-03)"):
when the element thread asked the loop for each block and waited, each of
the ~4,100 blocks per GiB cost two cross-thread wake-ups (the loop woken
to answer, the thread woken by the answer), and waking a sleeping thread
on this 2-core machine was the loop thread's largest single line (13 % of
the time it held the GIL, in `Condition.notify`). Here the loop keeps
requests going by itself and puts each block in this queue as it arrives;
the element thread takes what is there without waking anyone, and sleeps
only when the queue is empty. Memory stays bounded: the loop sends no
request while blocks queued plus requests out reach the reader's bound,
and once it had to stop (the thread is the slower side) it is woken only
when the queue has drained to half (`LOW_WATER`), to send half a window
at once, not one request per block taken.
"""

from __future__ import annotations

import asyncio
import collections
import threading

# The waiting thread is woken once this many blocks wait (or at the end, or
# when no request is out). Each wake-up of a thread on this loaded 2-core VM
# can cost the loop thread its CPU (the woken thread preempts it; cProfile of
# one 256 MiB read: ~5 ms of wall per wake), so it is woken once per 2 MiB.
WAKE_BLOCKS = 8
LOW_WATER = 0.5  # fraction of the bound at which a stopped loop is woken


class BlockQueue:
    """Loop side: `put`, `end`, `stopped`; thread side: `take`.

    State shared by both threads is changed under one mutex, held for a
    few operations and never while waiting.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: int) -> None:
        self._loop = loop
        self._limit = limit
        self._mutex = threading.Lock()
        self._wake = threading.Lock()
        self._wake.acquire()  # released by the loop for a waiting thread
        self._blocks: collections.deque[bytes] = collections.deque()
        self._ended = False
        self._error: BaseException | None = None
        self._waiting = False  # the thread sleeps on _wake
        self._stopped = False  # the loop waits on `room` for the queue to drain
        self.room = asyncio.Event()

    def count(self) -> int:
        return len(self._blocks)

    # -- on the loop ---------------------------------------------------------

    def put(self, data: bytes, more: bool) -> None:
        """A block in order; `more` says requests are still out."""
        with self._mutex:
            self._blocks.append(data)
            if self._waiting and (len(self._blocks) >= WAKE_BLOCKS or not more):
                self._waiting = False
                self._wake.release()

    def end(self, error: BaseException | None = None) -> None:
        """No more blocks: the end of the file, or the read failed with `error`."""
        with self._mutex:
            self._ended = True
            self._error = error
            if self._waiting:
                self._waiting = False
                self._wake.release()

    def stopped(self) -> bool:
        """The loop may send nothing more: True if it must wait on `room`
        (cleared here) for the thread to drain the queue; False if the
        thread already has."""
        with self._mutex:
            if len(self._blocks) < self._limit:
                return False
            self.room.clear()
            self._stopped = True
            return True

    # -- on the element thread ----------------------------------------------

    def take(self, limit: int, timeout: float) -> bytes:
        """The next bytes in order, whole blocks joined while they fit in
        `limit` (at least one block); b'' at
        the end. Raises the read's error, or TimeoutError after `timeout`."""
        while True:
            with self._mutex:
                if self._blocks:
                    data = self._joined(limit)
                    resume = self._stopped and len(self._blocks) <= self._limit * LOW_WATER
                    if resume:
                        self._stopped = False
                    break
                if self._error is not None:
                    raise self._error
                if self._ended:
                    return b""
                self._waiting = True
            if not self._wake.acquire(timeout=timeout):
                with self._mutex:
                    if self._waiting:  # still nothing: give up
                        self._waiting = False
                        raise TimeoutError(f"no data in {timeout:.0f}s")
                self._wake.acquire()  # released as the wait ended: take it back
        if resume:
            self._loop.call_soon_threadsafe(self.room.set)
        return data

    def _joined(self, limit: int) -> bytes:
        data = self._blocks.popleft()
        if len(data) >= limit or not self._blocks:
            return data
        parts, total = [data], len(data)
        while self._blocks and total + len(self._blocks[0]) <= limit:
            more = self._blocks.popleft()
            parts.append(more)
            total += len(more)
        return data if len(parts) == 1 else b"".join(parts)
