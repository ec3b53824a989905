"""A fixed set of threads running a worker's elements, with a lane for urgent ones.

``ThreadPoolExecutor`` allocates a Future (with its Condition) per task and
takes a semaphore on every submit. A worker hands its threads thousands of
tiny elements a second and wants nothing back from them (elements report
through the worker's result list), so that bookkeeping was a tenth of its
CPU; plain queues and long-lived threads do the same job.

Urgent items (namespace operations, haul.domain.lanes) go first: every
thread takes an urgent item before a normal one, and ``reserved`` more
threads take urgent items only, so a LIST starts at once while every other
thread copies a large file. Items wait in two deques; threads wake on
tickets from SimpleQueues (no Condition per wait): each item puts one ticket
on the shared queue, and an urgent one a second on the reserved threads'
queue. A thread holding a ticket takes the first item there is, if any, so
tickets are never fewer than waiting items and every item runs.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger("haul.worker")

T = TypeVar("T")
_STOP = object()
_TICKET = object()


class ElementThreads(Generic[T]):
    def __init__(
        self, count: int, run: Callable[[T], None], name: str = "element", reserved: int = 0
    ) -> None:
        self._run = run
        self._urgent: deque[T] = deque()
        self._normal: deque[T] = deque()
        self._tickets: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._urgent_tickets: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._reserved_busy = 0  # reserved threads running an item
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True)
            for i in range(count)
        ]
        self._reserved = [
            threading.Thread(target=self._reserved_loop, name=f"{name}-lane-{i}", daemon=True)
            for i in range(reserved)
        ]
        for thread in (*self._threads, *self._reserved):
            thread.start()

    def submit(self, item: T, urgent: bool = False) -> None:
        if urgent:
            self._urgent.append(item)
            self._urgent_tickets.put(_TICKET)
        else:
            self._normal.append(item)
        self._tickets.put(_TICKET)

    def lane_free(self) -> bool:
        """Whether an urgent item submitted now would start at once on a reserved thread."""
        with self._lock:
            busy = self._reserved_busy
        return bool(self._reserved) and not self._urgent and busy < len(self._reserved)

    def shutdown(self, timeout: float | None = None) -> bool:
        """Runs everything already submitted, then stops the threads.

        With `timeout`, waits at most that long in all and returns whether every
        thread stopped: a handler that ignores cancellation must not keep a
        stopping worker alive (the threads are daemons).
        """
        for _ in self._threads:
            self._tickets.put(_STOP)
        for _ in self._reserved:
            self._urgent_tickets.put(_STOP)
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in (*self._threads, *self._reserved):
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in (*self._threads, *self._reserved))

    def _take(self, urgent_only: bool) -> tuple[bool, T | None]:
        try:
            return True, self._urgent.popleft()
        except IndexError:
            pass
        if urgent_only:
            return False, None
        try:
            return True, self._normal.popleft()
        except IndexError:
            return False, None  # another thread took the item this ticket stood for

    def _loop(self) -> None:
        while True:
            if self._tickets.get() is _STOP:
                return
            found, item = self._take(urgent_only=False)
            if found:
                self._call(item)  # type: ignore[arg-type]

    def _reserved_loop(self) -> None:
        while True:
            if self._urgent_tickets.get() is _STOP:
                return
            with self._lock:
                self._reserved_busy += 1
            try:
                found, item = self._take(urgent_only=True)
                if found:
                    self._call(item)  # type: ignore[arg-type]
            finally:
                with self._lock:
                    self._reserved_busy -= 1

    def _call(self, item: T) -> None:
        try:
            self._run(item)
        except Exception:  # a bug must not take a thread, and its slot, away
            log.exception("element thread: unexpected error")
