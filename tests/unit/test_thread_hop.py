"""The fused routes' thread hop (server/thread_hop.py): answers, errors, the bound, and a
caller that gives up."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from haul.server.thread_hop import ThreadHop
from tests.own_loop import run_on_own_thread


def test_answers_and_errors_come_back_to_the_caller() -> None:
    hop = ThreadHop(4, "t")

    def boom() -> None:
        raise ValueError("bad input")

    async def main() -> None:
        assert await hop.run(lambda a, b: a + b, 2, 3) == 5
        assert await hop.run(threading.current_thread) is not threading.current_thread()
        with pytest.raises(ValueError, match="bad input"):
            await hop.run(boom)

    run_on_own_thread(main())


def test_calls_run_side_by_side_up_to_the_bound() -> None:
    hop = ThreadHop(3, "t")
    running, peak, lock = 0, 0, threading.Lock()

    def work() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    async def main() -> None:
        await asyncio.gather(*(hop.run(work) for _ in range(10)))

    run_on_own_thread(main())
    assert peak == 3  # ten at once: three threads, never more
    assert hop._started == 3


def test_a_cancelled_caller_leaves_its_call_to_finish() -> None:
    hop = ThreadHop(1, "t")
    done = threading.Event()

    def slow() -> str:
        time.sleep(0.1)
        done.set()
        return "late"

    async def main() -> None:
        task = asyncio.ensure_future(hop.run(slow))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await hop.run(lambda: "next") == "next"  # the thread serves on

    run_on_own_thread(main())
    assert done.is_set()
