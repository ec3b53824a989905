"""The long-poll wake-up: a notify from a request thread ends a waiting claim's sleep."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TypeVar

from haul.server.work_signal import WorkSignal
from tests.own_loop import run_on_own_thread

T = TypeVar("T")


def test_notify_from_another_thread_wakes_every_waiter_early() -> None:
    signal = WorkSignal()

    async def scenario() -> list[float]:
        started = time.monotonic()

        async def waiter() -> float:
            await signal.wait(10.0)
            return time.monotonic() - started

        tasks = [asyncio.create_task(waiter()) for _ in range(3)]
        await asyncio.sleep(0.05)  # the waiters are parked on the event
        threading.Thread(target=signal.notify).start()
        return await asyncio.gather(*tasks)

    woke = run_on_own_thread(scenario())
    assert all(t < 5.0 for t in woke), woke


def test_wait_times_out_without_notify_and_notify_without_loop_is_harmless() -> None:
    signal = WorkSignal()
    signal.notify()  # no loop bound yet: nothing to wake, no error

    async def scenario() -> float:
        t = time.monotonic()
        await signal.wait(0.05)
        return time.monotonic() - t

    assert run_on_own_thread(scenario()) >= 0.04
    # A later notify re-arms: the next wait is not woken by the earlier one.
    signal.notify()

    async def again() -> float:
        t = time.monotonic()
        await signal.wait(0.05)
        return time.monotonic() - t

    assert run_on_own_thread(again()) >= 0.04
