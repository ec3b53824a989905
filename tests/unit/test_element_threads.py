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
