"""One event loop thread for the asyncio-based protocol clients (asyncssh).

The Storage interface is synchronous (each element runs in a worker thread);
asyncssh is not. Every SFTP connection of the process lives on this one
loop: Python runs one thread at a time anyway, and one loop keeps all
the connections' packets moving while element threads hash and write.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")
_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
# The loop keeps only weak references to tasks; these must run to the end.
_tasks: set[asyncio.Task[Any]] = set()


def loop() -> asyncio.AbstractEventLoop:
    """The shared loop, started on first use in a daemon thread."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            new = asyncio.new_event_loop()
            threading.Thread(target=new.run_forever, name="haul-aio", daemon=True).start()
            _loop = new
        return _loop


def run(coro: Coroutine[Any, Any, _T], timeout: float | None) -> _T:
    """Runs `coro` on the shared loop and waits for it.

    A timeout cancels the coroutine (so nothing keeps running for a caller
    that gave up) and raises TimeoutError; so does an interrupt of the
    waiting thread.
    """
    future = asyncio.run_coroutine_threadsafe(coro, loop())
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise TimeoutError(f"no answer in {timeout:.0f}s") from None
    except BaseException:
        future.cancel()
        raise


def submit(coro: Coroutine[Any, Any, _T]) -> concurrent.futures.Future[_T]:
    """Starts `coro` on the shared loop without waiting (e.g. closing a handle)."""
    return asyncio.run_coroutine_threadsafe(coro, loop())


def background(coro: Coroutine[Any, Any, Any]) -> None:
    """From a coroutine on the loop: run `coro` to its end, nobody waiting."""
    task = asyncio.ensure_future(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
