"""One hop to a thread and back for the fused routes (``server/threaded.py``).

Starlette's ``run_in_threadpool`` goes through anyio: a capacity limiter
whose acquire is a loop round trip of its own, a shielded cancel scope, and
a worker thread found or made per call. On a one-file submission that was
~15% of the server's CPU (bench/submit_micro.py with and without the hop;
bench/RESULTS.md, "Per-job enqueue, session 2026-12-03 evening"). Here a
call is one put on a queue that ``THREADS`` threads share, and one
``call_soon_threadsafe`` back: the loop wakes once per call.

The bound is the store's (``store.database.THREADS``, the pool is sized to
it), as anyio's limiter was. A call whose awaiting task is cancelled still
runs to its end on its thread (as anyio's default, which does not abandon
a thread): a write commits or rolls back whole, and its answer is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[
    asyncio.AbstractEventLoop,
    "asyncio.Future[Any]",
    contextvars.Context,
    Callable[..., Any],
    tuple[Any, ...],
]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # its task was cancelled meanwhile
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class ThreadHop:
    """``threads`` threads, started as calls first need them, running blocking calls."""

    def __init__(self, threads: int, name: str) -> None:
        self._limit = threads
        self._name = name
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started = 0
        self._idle = 0  # threads waiting on the queue
        self._queued = 0  # calls on the queue no thread has taken yet

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            self._queued += 1
            if self._queued > self._idle and self._started < self._limit:
                self._started += 1
                self._idle += 1
                threading.Thread(
                    target=self._serve, name=f"{self._name}-{self._started}", daemon=True
                ).start()
        self._queue.put((loop, future, contextvars.copy_context(), func, args))
        return await future

    def _serve(self) -> None:
        while True:
            loop, future, context, func, args = self._queue.get()
            with self._lock:
                self._queued -= 1
                self._idle -= 1
            try:
                result, error = context.run(func, *args), None
            except BaseException as exc:  # handed to the awaiting task, as anyio does
                result, error = None, exc
            with self._lock:
                self._idle += 1
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for it
                loop.call_soon_threadsafe(_settle, future, result, error)
            del loop, future, context, func, args, result, error
