"""Waking long-polling claims when a request of this process may have made work.

Idle workers long-poll ``POST /worker/jobs`` with ``wait``; between claim
attempts they sleep on this signal rather than a fixed interval, so a job
submitted here, or the elements a LIST result expands into, are handed out
as soon as their transaction commits. On PostgreSQL the other server
processes hear of it too (store/work_notices.py), so their claims wake as
well; a backoff running out or a lease taken back is found by the poll.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from fastapi import Request

# How often a waiting claim looks again when nothing woke it: often when only
# this process can signal work, less often when the other processes' work
# wakes it too (a poll is a write transaction per idle worker).
POLL_SECONDS = 0.1
POLL_SECONDS_HEARING_PEERS = 0.5


class Peers(Protocol):
    def announce(self) -> None: ...


class WorkSignal:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self.peers: Peers | None = None

    @property
    def poll_seconds(self) -> float:
        return POLL_SECONDS if self.peers is None else POLL_SECONDS_HEARING_PEERS

    def made_work(self) -> None:
        """This process may have made claimable work: wake its claims and tell the others."""
        self.notify()
        if self.peers is not None:
            self.peers.announce()

    def _current(self) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        if self._event is None or self._loop is not loop:
            self._loop, self._event = loop, asyncio.Event()
        return self._event

    async def wait(self, timeout: float) -> None:
        """Returns when notified or after ``timeout`` seconds, whichever is first."""
        event = self._current()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    def notify(self) -> None:
        """Safe from any thread: request handlers run in a thread pool."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is shutting down
            loop.call_soon_threadsafe(self._fire)

    def _fire(self) -> None:
        # Every current waiter wakes; later waiters wait on a fresh event.
        if self._event is not None:
            self._event.set()
        self._event = asyncio.Event()


def work_added(request: Request) -> None:
    """Marks this request as one that may have made claimable work.

    The write session signals after its commit, so a woken claim sees the rows.
    """
    request.state.work_added = True


def signal_if_work_added(request: Request) -> None:
    if getattr(request.state, "work_added", False):
        signal: WorkSignal | None = getattr(request.app.state, "work_signal", None)
        if signal is not None:
            signal.made_work()
