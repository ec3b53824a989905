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

from haul.worker.config import WorkerConfig
from haul.worker.loop import GATHER_MAX, GATHER_SECONDS, Worker
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


def test_a_result_wakes_the_reporter_only_when_it_has_something_to_do(worker: Worker) -> None:
    """The first result waiting starts its gathering; the next ones wake it only once
    they are ready to go (not one thread switch per small file)."""
    _hold(worker)
    worker.results.append({"jobid": 1, "elementid": 1})
    assert worker._wakes_reporter()
    worker.results.append({"jobid": 1, "elementid": 3})
    assert not worker._wakes_reporter()  # it is gathering already: it sleeps GATHER_SECONDS out
    worker.urgent = True  # a listing
    assert worker._wakes_reporter()
    worker.urgent = False
    worker.results[:] = [{"jobid": 1, "elementid": i} for i in range(GATHER_MAX)]
    assert worker._wakes_reporter()  # a full batch
    worker.results[:] = [{"jobid": 1, "elementid": 1}, {"jobid": 1, "elementid": 3}]
    worker.running.clear()
    assert worker._wakes_reporter()  # nothing else will finish soon


def test_finished_elements_wake_the_reporter_once_while_others_run(worker: Worker) -> None:
    """Through `_execute`: of three zero-size copies ending while a fourth runs,
    only the first sets the event; every result is there to be sent."""
    site = {
        "site_id": 1,
        "site_name": "s",
        "def_path": "/",
        "endpoints": ["dummy://wake-src/?files=3&size=0"],
    }
    dst = {"site_id": 2, "site_name": "d", "def_path": "/", "endpoints": ["dummy://wake-dst/"]}
    job = {
        "id": 7,
        "type": "COPY",
        "extra_opts": {"checksum": "none"},
        "src_filepath": "/",
        "src_site": site,
        "dst_site": dst,
    }
    _hold(worker)
    sets = 0
    real_set = worker.results_ready.set

    def counted() -> None:
        nonlocal sets
        sets += 1
        real_set()

    worker.results_ready.set = counted  # type: ignore[method-assign]
    for i in range(3):
        element = {
            "job_id": 7,
            "id": i + 1,
            "type": "COPY",
            "token": f"t{i}",
            "attempts": 0,
            "src_filepath": f"/file-{i:05d}.dat",
            "dst_filepath": f"/out/{i}.dat",
        }
        run = Running(job=job, element=element)  # type: ignore[arg-type]
        with worker.lock:
            worker.running[run.key] = run
            worker.queued += 1
        worker._execute(run)
    assert sets == 1
    assert [r["returncode"] for r in worker.results] == [0, 0, 0]
