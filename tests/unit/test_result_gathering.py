"""When the worker sends finished results (haul.worker.loop.Worker._gather).

A result waits, at most GATHER_SECONDS, for others to share its request while
the worker still runs elements; it goes at once when nothing else runs, when
it is a LIST's (the server expands it into the job's work) or when the batch
is full. No server is needed: the rule only reads the worker's own state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from haul.worker.loop import GATHER_MAX, GATHER_SECONDS, Worker, WorkerConfig
from haul.worker.running import Running


@pytest.fixture
def worker() -> Iterator[Worker]:
    w = Worker(WorkerConfig(server="http://127.0.0.1:9", token="unused", concurrency=1))
    yield w
    w.pool.shutdown(timeout=5)
    w.api.close()


def _timed(w: Worker) -> float:
    t0 = time.monotonic()
    w._gather()
    return time.monotonic() - t0


def _hold(w: Worker) -> None:
    element = {"job_id": 1, "id": 2, "type": "COPY", "token": "t"}
    w.running[(1, 2)] = Running(job={}, element=element)


def test_an_idle_worker_sends_at_once(worker: Worker) -> None:
    worker.results.append({"jobid": 1, "elementid": 1})
    assert _timed(worker) < GATHER_SECONDS / 2


def test_a_busy_worker_waits_for_company_but_not_long(worker: Worker) -> None:
    _hold(worker)
    worker.results.append({"jobid": 1, "elementid": 1})
    assert GATHER_SECONDS * 0.9 <= _timed(worker) < GATHER_SECONDS * 3


def test_the_last_running_element_ending_sends_at_once(worker: Worker) -> None:
    _hold(worker)
    worker.results.append({"jobid": 1, "elementid": 1})

    def finish() -> None:
        time.sleep(GATHER_SECONDS / 5)
        with worker.lock:
            worker.running.clear()
            worker.results.append({"jobid": 1, "elementid": 2})
        worker.results_ready.set()

    threading.Thread(target=finish).start()
    assert _timed(worker) < GATHER_SECONDS * 0.8


def test_a_listing_and_a_full_batch_go_at_once(worker: Worker) -> None:
    _hold(worker)
    worker.results.append({"jobid": 1, "elementid": 0, "listing": {}})
    worker.urgent = True
    assert _timed(worker) < GATHER_SECONDS / 2
    worker.urgent = False
    worker.results[:] = [{"jobid": 1, "elementid": i} for i in range(GATHER_MAX)]
    assert _timed(worker) < GATHER_SECONDS / 2
