"""Claiming ahead and progress, with real worker processes against a real server.

Workers with default settings claim beyond their slots (haul.worker.claim_ahead):
a killed one strands only a few seconds of work, recovered when the leases
expire; two share one queue; and a running copy shows its bytes on the
server while it runs, under the default heartbeat interval.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.engine.helpers import (
    attempt_output,
    elements,
    failure_report,
    fast_recovery_args,
    fresh_server,
    start_worker,
    submit,
    wait_for,
    wait_job,
)
from tests.harness import ServerProcess

# Short leases, a fast reaper and short backoffs: a dead worker's leases come back quickly.
ARGS = fast_recovery_args()
SLOW_FILES = "files={n}&size=8000&speed=80000"  # 0.1 s per file, whatever the machine


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with fresh_server("sqlite", tmp_path_factory.mktemp("ahead"), ARGS) as srv:
        yield srv


def _workers(srv: ServerProcess) -> dict[int, dict[str, Any]]:
    with srv.admin() as c:
        r = c.get("/workqueue/api/v1.0/workers")
        assert r.status_code == 200, r.text
        return {w["id"]: w for w in r.json()["results"]}


def _worker_id(srv: ServerProcess, seen_before: set[int]) -> int:
    (new,) = set(_workers(srv)) - seen_before
    return new


def _copy_job(srv: ServerProcess, n: int) -> tuple[httpx.Client, int]:
    """A COPY of `n` slow files, and a client of its owner (close it after use)."""
    user = srv.new_user()
    src = user.site(endpoints=[f"dummy://ahead{n}/?{SLOW_FILES.format(n=n)}"])
    dst = user.site(endpoints=[f"dummy://ahead-sink{n}/"])  # one per test: no leftovers shared
    c = user.client()
    job_id = submit(
        c,
        type="COPY",
        src_siteid=src,
        src_filepath="/",
        dst_siteid=dst,
        dst_filepath="/out",
        max_tries=3,
    )
    return c, job_id


def _held(c: Any, job_id: int) -> int:
    return sum(e["status"] in ("SUBMITTED", "RUNNING") for e in elements(c, job_id))


def test_a_killed_workers_queued_leases_are_recovered(
    server: ServerProcess, tmp_path: Path
) -> None:
    before = set(_workers(server))
    token_a = server.new_worker()
    c, job_id = _copy_job(server, 120)
    with closing(c):
        a = start_worker(server, token_a, tmp_path, concurrency=2)
        try:
            # Default settings: the worker holds more than its two slots...
            wait_for(
                "the worker to claim ahead", lambda: _held(c, job_id) > 4, timeout=30, interval=0.05
            )
            a.kill()  # SIGKILL: no results, no goodbye
            a.proc.wait(5)
        finally:
            a.stop()
        dead = _worker_id(server, before)

        def counted_within_the_job() -> bool:
            # A claim sent just before the kill may still be granted after it
            # (its leases then expire like the rest), so the server's count of
            # the dead worker's leases is compared once it has settled: read
            # first, it can only be at most what the job's elements show.
            return _workers(server)[dead]["held"] <= _held(c, job_id)

        wait_for("the dead worker's leases to be counted", counted_within_the_job, timeout=10)
        held = _held(c, job_id)
        # ...but only seconds of its observed work (0.1 s per element, 2 slots,
        # a quarter of the 5 s lease), not the 120-element job.
        assert 2 < held < 60, held
        # The dead worker's leases expire, and another worker runs them all.
        with start_worker_ctx(server, tmp_path) as b:
            view = wait_job(c, job_id, timeout=90, workers=[b])
        assert view["status"] == "DONE", failure_report(c, job_id)
        els = elements(c, job_id)
        assert {e["status"] for e in els} == {"DONE"}
        lost = [e for e in els if e["attempts"] > 1]
        assert lost, "no element was held by the killed worker"
        firsts = [attempt_output(c, job_id, e["id"], 1) for e in lost]
        assert {(o["status"], o["error"]["code"]) for o in firsts} == {("FAILED", "LOST")}


class start_worker_ctx:  # noqa: N801 - used like a function
    """A worker with a fresh token, stopped on the way out."""

    def __init__(self, srv: ServerProcess, log_dir: Path, **kwargs: Any) -> None:
        self.proc = start_worker(srv, srv.new_worker(), log_dir, **kwargs)

    def __enter__(self) -> Any:
        return self.proc

    def __exit__(self, *exc: object) -> None:
        self.proc.stop()


def test_two_workers_share_a_queue(server: ServerProcess, tmp_path: Path) -> None:
    before = set(_workers(server))
    with (
        start_worker_ctx(server, tmp_path, concurrency=2) as a,
        start_worker_ctx(server, tmp_path, concurrency=2) as b,
    ):

        def both_polling() -> bool:
            seen = _workers(server)
            return sum(1 for i in set(seen) - before if seen[i]["last_claim"]) == 2

        # Both ask for work before there is any (a loaded machine starts them slowly).
        wait_for("both workers to poll", both_polling, timeout=60)
        c, job_id = _copy_job(server, 200)
        with closing(c):
            view = wait_job(c, job_id, timeout=90, workers=[a, b])
            assert view["status"] == "DONE", failure_report(c, job_id)
        seen = _workers(server)
    done = [seen[i]["finished"] for i in set(seen) - before]
    assert sum(done) == 201, done  # the LIST and 200 copies
    # Each holds seconds of work, not the queue: the second gets its share.
    assert min(done) >= 50, done


def test_a_running_copy_shows_its_bytes_under_default_heartbeats(
    server: ServerProcess, tmp_path: Path
) -> None:
    user = server.new_user()
    # 12 MB at 4 MB/s: done in 3 s, before a 5 s heartbeat would first report it.
    src = user.site(endpoints=["dummy://progress/?files=1&size=12000000&speed=4000000"])
    dst = user.site(endpoints=["dummy://progress-sink/"])
    with user.client() as c, start_worker_ctx(server, tmp_path, heartbeat_seconds=5.0) as w:
        job_id = submit(
            c,
            type="COPY",
            src_siteid=src,
            src_filepath="/file-00000.dat",
            dst_siteid=dst,
            dst_filepath="/big.dat",
        )
        seen: list[dict[str, Any]] = []
        copies_seen: list[int] = []

        def moving() -> bool:
            copies = [e for e in elements(c, job_id) if e["type"] == "COPY"]
            if not copies:
                return False  # the LIST has not expanded yet
            e = copies[0]
            copies_seen[:] = [e["id"]]
            p = e["progress"] or {}
            if e["status"] == "RUNNING" and p.get("transferred", 0) > 0:
                seen.append(p)
            assert e["status"] != "DONE" or seen, "the copy ended without showing progress"
            return bool(seen)

        wait_for("the running copy to show its bytes", moving, timeout=30, interval=0.05)
        assert 0 < seen[0]["transferred"] < 12_000_000
        assert (seen[0]["instant"] or seen[0]["average"]) > 0
        # The dashboard's element table shows those bytes, not 0 B.
        with server.client() as web:
            web.cookies.set("haul_token", user.token)
            page = web.get(f"/web/fragments/jobs/{job_id}")
        assert page.status_code == 200, page.text
        row = page.text.split(f'id="element-{copies_seen[0]}"', 1)[1].split("</tr>", 1)[0]
        if 'data-status="RUNNING"' in row:
            assert re.search(r">\s*[1-9][0-9.]* [kMG]?B( of [0-9.]+ [kMG]?B)? · [1-9]", row), row
        assert wait_job(c, job_id, timeout=30, workers=[w])["status"] == "DONE"
