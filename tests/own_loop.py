"""``asyncio.run`` on a thread of its own.

A test run earlier in the same pytest process (the browser tests' Playwright
sync API) may keep an event loop running on the main thread, where
``asyncio.run`` refuses to start; a fresh thread has no loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_on_own_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Runs `coro` to its end on a new thread and loop; its exception is raised here."""
    out: list[T] = []
    failed: list[BaseException] = []

    def main() -> None:
        try:
            out.append(asyncio.run(coro))
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=main)
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return out[0]
