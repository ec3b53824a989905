"""Namespace operations do not wait behind transfers (issue 14, point 10).

A real server and a real worker process with two slots, both busy for half a
minute each on slow large files, hundreds more of the same user's copies
queued on the server and held ahead by the worker: a LIST submitted then ends
DONE within seconds, and a COPY of a missing path ends FAILED (NOT_FOUND)
within seconds, its LIST having run on the worker's namespace lane.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.engine.helpers import (
    elements,
    failure_report,
    fresh_server,
    running_workers,
    submit,
    wait_for,
    wait_job,
)
from tests.harness import ServerProcess

# 300 files of 60 MB at 2 MB/s: each copy holds its slot for 30 s.
SLOW = "files=300&size=60000000&speed=2000000"
# Without the lane, a LIST would wait for a slot: 30 s at the least.
PROMPT_SECONDS = 6.0


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    with fresh_server(request.param, tmp_path_factory.mktemp("lane")) as srv:
        yield srv


def _status_counts(c: httpx.Client, job_id: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in elements(c, job_id):
        counts[e["status"]] = counts.get(e["status"], 0) + 1
    return counts


def test_a_list_and_a_missing_copy_do_not_wait_behind_busy_slots(
    server: ServerProcess, tmp_path: Path
) -> None:
    user = server.new_user()
    src = user.site(endpoints=[f"dummy://lane-src/?{SLOW}"])
    dst = user.site(endpoints=["dummy://lane-sink/"])
    with user.client() as c, running_workers(
        server, tmp_path, concurrency=2, extra_args=["--grace-seconds", "0"]
    ) as workers:
        bulk = submit(
            c, type="COPY", src_siteid=src, src_filepath="/", dst_siteid=dst, dst_filepath="/out"
        )

        def busy() -> bool:
            counts = _status_counts(c, bulk)
            # Both slots copying, and the worker holding more of them queued.
            return counts.get("RUNNING", 0) == 2 and counts.get("NEW", 0) > 250

        wait_for("both slots to copy", busy, timeout=60, interval=0.1)

        began = time.monotonic()
        listing = submit(c, type="LIST", src_siteid=src, src_filepath="/")
        view = wait_job(c, listing, timeout=60, workers=workers)
        took = time.monotonic() - began
        assert view["status"] == "DONE", failure_report(c, listing)
        assert took < PROMPT_SECONDS, f"the LIST took {took:.1f} s"

        began = time.monotonic()
        missing = submit(
            c,
            type="COPY",
            src_siteid=src,
            src_filepath="/no/such/dir",
            dst_siteid=dst,
            dst_filepath="/out2",
            max_tries=1,
        )
        view = wait_job(c, missing, timeout=60, workers=workers)
        took = time.monotonic() - began
        assert view["status"] == "FAILED", view
        (first,) = elements(c, missing)
        assert first["type"] == "LIST" and first["status"] == "FAILED", first
        assert first["error"]["code"] == "NOT_FOUND", first
        assert took < PROMPT_SECONDS, f"the missing COPY took {took:.1f} s to fail"

        # The copies were not disturbed: still two running, none finished yet.
        counts = _status_counts(c, bulk)
        assert counts.get("RUNNING", 0) == 2 and counts.get("DONE", 0) <= 1, counts


def test_a_claim_for_the_lane_alone_over_http(server: ServerProcess) -> None:
    user = server.new_user()
    src = user.site(endpoints=["dummy://lane-http/?files=50&size=10"])
    dst = user.site(endpoints=["dummy://lane-http-sink/"])
    with user.client() as c, server.client(server.new_worker()) as w:
        # Fifty copies queued (their LIST claimed and reported by hand first)...
        bulk = submit(
            c, type="COPY", src_siteid=src, src_filepath="/", dst_siteid=dst, dst_filepath="/o"
        )
        (lst,) = [e for e in _claim_lane(w, None) if e["job_id"] == bulk]
        listing = {"/": [{"name": f"f{i}", "size": 10, "is_dir": False} for i in range(50)]}
        result = {"token": lst["token"], "returncode": 0, "host": "t", "listing": listing}
        r = w.put(f"/workqueue/api/v1.0/worker/jobs/{bulk}/elements/0", json=result)
        assert r.status_code == 200, r.text
        wait_for("the copies to be queued", lambda: len(elements(c, bulk)) == 51, timeout=30)
        # ...then a MKDIR: a lane claim hands out the MKDIR and none of the copies.
        mkdir = submit(c, type="MKDIR", src_siteid=src, src_filepath="/new")
        got = _claim_lane(w, "namespace")
        assert [(e["job_id"], e["type"]) for e in got] == [(mkdir, "MKDIR")], got
        assert _claim_lane(w, "namespace") == []  # nothing else in the lane
        # A lane the server does not know is refused, naming the field.
        r = w.post(
            "/workqueue/api/v1.0/worker/jobs", json={"types": ["COPY"], "lane": "express"}
        )
        assert r.status_code == 422 and "lane" in r.text, r.text


def _claim_lane(w: httpx.Client, lane: str | None) -> list[dict]:
    body: dict = {"types": ["LIST", "COPY", "MKDIR"], "algorithm.args": {"limit": 100}}
    if lane:
        body["lane"] = lane
    r = w.post("/workqueue/api/v1.0/worker/jobs", json=body)
    if r.status_code == 404:
        return []
    assert r.status_code == 200, r.text
    return [e for job in r.json() for e in job["elements"]]
