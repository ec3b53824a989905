"""Read handlers that do their work on a thread and answer from the event loop.

FastAPI serialises a plain ``def`` handler's answer on a second thread hop,
while the request's database session (a ``scope="function"`` dependency)
still holds its connection. Under load every thread can be busy waiting for
a connection that is held by a request waiting for a thread: the pool and
the thread limiter deadlock until the pool times out (seen with 100 clients
polling job status: 30 s waits, then 500s). A handler wrapped here is a
coroutine to FastAPI: its body runs on one thread hop, and its answer is
serialised on the event loop, so a connection is never held while waiting
for a thread.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from fastapi.concurrency import run_in_threadpool

P = ParamSpec("P")
T = TypeVar("T")


def in_thread(handler: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """``handler`` as an async route: FastAPI reads its signature through the wrapper."""

    @functools.wraps(handler)
    async def route(*args: P.args, **kwargs: P.kwargs) -> T:
        return await run_in_threadpool(handler, *args, **kwargs)

    return route
