"""One event loop thread for the asyncio-based protocol clients (asyncssh).

The Storage interface is synchronous (each element runs in a worker thread);
asyncssh is not. Every SFTP connection of the process lives on this one
loop: Python runs one thread at a time anyway, and one loop keeps all
the connections' packets moving while element threads hash and write.

The loop is uvloop's where it is installed (a haul dependency off Windows):
its scheduling, socket reads and cross-thread wake-ups are C, which the
profile of SFTP copies showed as a fifth of this thread's time in asyncio's
pure-Python loop. A hand-over from an element thread (`run`) is one
`call_soon_threadsafe` and one lock, not `run_coroutine_threadsafe`'s pair
of chained futures and Condition (bench/RESULTS.md, "SFTP (session
2026-12-03)").
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, Generic, TypeVar

try:
    import uvloop
except ImportError:  # pragma: no cover - Windows, or a build without it
    uvloop = None

_T = TypeVar("_T")
_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
# The loop keeps only weak references to tasks; these must run to the end.
_tasks: set[asyncio.Task[Any]] = set()


def _new_loop() -> asyncio.AbstractEventLoop:
    return uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()


def loop() -> asyncio.AbstractEventLoop:
    """The shared loop, started on first use in a daemon thread."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            new = _new_loop()
            threading.Thread(target=new.run_forever, name="haul-aio", daemon=True).start()
            _loop = new
        return _loop


class _Call(Generic[_T]):
    """One coroutine run for a waiting thread: its outcome and the lock it waits on."""

    __slots__ = ("coro", "done", "error", "given_up", "result", "task")

    def __init__(self, coro: Coroutine[Any, Any, _T]) -> None:
        self.coro = coro
        self.done = threading.Lock()
        self.done.acquire()  # released by the loop when the coroutine ends
        self.result: _T | None = None
        self.error: BaseException | None = None
        self.task: asyncio.Task[None] | None = None
        self.given_up = False

    def start(self) -> None:  # on the loop
        if self.given_up:  # the caller left before the loop got here
            self.coro.close()
            self.done.release()
            return
        self.task = asyncio.ensure_future(self._body())

    async def _body(self) -> None:
        try:
            self.result = await self.coro
        except BaseException as exc:  # handed to the waiting thread
            self.error = exc
        finally:
            self.done.release()

    def give_up(self) -> None:  # on the loop, after start()
        self.given_up = True
        if self.task is not None:
            self.task.cancel()


def run(coro: Coroutine[Any, Any, _T], timeout: float | None) -> _T:
    """Runs `coro` on the shared loop and waits for it.

    A timeout cancels the coroutine (so nothing keeps running for a caller
    that gave up) and raises TimeoutError; so does an interrupt of the
    waiting thread.
    """
    shared = loop()
    call = _Call(coro)
    shared.call_soon_threadsafe(call.start)
    try:
        finished = call.done.acquire(timeout=-1 if timeout is None else max(timeout, 0.0))
    except BaseException:
        shared.call_soon_threadsafe(call.give_up)
        raise
    if not finished:
        shared.call_soon_threadsafe(call.give_up)
        raise TimeoutError(f"no answer in {timeout:.0f}s")
    if call.error is not None:
        error, call.error = call.error, None  # no cycle through the traceback
        raise error
    return call.result  # type: ignore[return-value]


def submit(coro: Coroutine[Any, Any, Any]) -> None:
    """Starts `coro` on the shared loop without waiting (e.g. closing a handle)."""
    loop().call_soon_threadsafe(background, coro)


def background(coro: Coroutine[Any, Any, Any]) -> None:
    """From a coroutine on the loop: run `coro` to its end, nobody waiting."""
    task = asyncio.ensure_future(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
