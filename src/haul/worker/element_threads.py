"""A fixed set of threads running a worker's elements from one queue.

``ThreadPoolExecutor`` allocates a Future (with its Condition) per task and
takes a semaphore on every submit. A worker hands its threads thousands of
tiny elements a second and wants nothing back from them (elements report
through the worker's result list), so that bookkeeping was a tenth of its
CPU; a plain queue and long-lived threads do the same job.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger("haul.worker")

T = TypeVar("T")
_STOP = object()


class ElementThreads(Generic[T]):
    def __init__(self, count: int, run: Callable[[T], None], name: str = "element") -> None:
        self._run = run
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True)
            for i in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, item: T) -> None:
        self._queue.put(item)

    def shutdown(self, timeout: float | None = None) -> bool:
        """Runs everything already submitted, then stops the threads.

        With `timeout`, waits at most that long in all and returns whether every
        thread stopped: a handler that ignores cancellation must not keep a
        stopping worker alive (the threads are daemons).
        """
        for _ in self._threads:
            self._queue.put(_STOP)
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            try:
                self._run(item)  # type: ignore[arg-type]
            except Exception:  # a bug must not take a thread, and its slot, away
                log.exception("element thread: unexpected error")
