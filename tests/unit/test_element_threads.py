"""The worker's element threads: everything submitted runs, errors cost no thread."""

from __future__ import annotations

import threading

from haul.worker.element_threads import ElementThreads


def test_shutdown_runs_everything_submitted_on_the_fixed_threads() -> None:
    seen: list[int] = []
    names: set[str] = set()
    lock = threading.Lock()

    def run(n: int) -> None:
        with lock:
            seen.append(n)
            names.add(threading.current_thread().name)

    threads: ElementThreads[int] = ElementThreads(3, run, name="t")
    for n in range(500):
        threads.submit(n)
    threads.shutdown()
    assert sorted(seen) == list(range(500))
    assert names <= {"t-0", "t-1", "t-2"}


def test_an_error_in_one_element_does_not_take_its_thread_away() -> None:
    done: list[int] = []

    def run(n: int) -> None:
        if n % 2:
            raise RuntimeError(f"element {n} broke")
        done.append(n)

    threads: ElementThreads[int] = ElementThreads(1, run)
    for n in range(10):
        threads.submit(n)
    threads.shutdown()
    assert done == [0, 2, 4, 6, 8]  # one thread, still serving after five errors


def test_an_urgent_item_starts_while_every_normal_thread_is_busy() -> None:
    release = threading.Event()
    started: list[str] = []
    urgent_ran = threading.Event()

    def run(item: str) -> None:
        started.append(item)
        if item.startswith("big"):
            release.wait(10)
        else:
            urgent_ran.set()

    threads: ElementThreads[str] = ElementThreads(2, run, name="t", reserved=1)
    try:
        for n in range(6):
            threads.submit(f"big-{n}")
        for _ in range(250):
            if len(started) == 2:
                break
            threading.Event().wait(0.02)
        assert not urgent_ran.is_set()
        assert threads.lane_free()  # both normal threads busy, the lane idle
        threads.submit("list", urgent=True)
        # It runs on the reserved thread although four normal items queued before it.
        assert urgent_ran.wait(5), started
        assert started.index("list") == 2, started
    finally:
        release.set()
        threads.shutdown()
    assert sorted(started) == sorted([f"big-{n}" for n in range(6)] + ["list"])


def test_urgent_items_go_first_on_normal_threads_and_the_reserved_ones_take_no_other() -> None:
    gate = threading.Event()
    holding = threading.Event()
    order: list[str] = []
    names: dict[str, str] = {}

    def run(item: str) -> None:
        if item == "first":
            holding.set()
            gate.wait(10)
        order.append(item)
        names[item] = threading.current_thread().name

    threads: ElementThreads[str] = ElementThreads(1, run, name="t", reserved=1)
    threads.submit("first")  # holds the one normal thread
    assert holding.wait(5)
    for n in range(3):
        threads.submit(f"copy-{n}")
    threads.submit("mkdir", urgent=True)
    for _ in range(100):
        if "mkdir" in order:
            break
        threading.Event().wait(0.02)
    gate.set()
    threads.shutdown()
    assert order[0] == "mkdir", order  # on the lane, before the queued copies
    assert names["mkdir"] == "t-lane-0"
    assert order[1:] == ["first", "copy-0", "copy-1", "copy-2"], order
    assert {names[f"copy-{n}"] for n in range(3)} == {"t-0"}  # never on the lane
