"""Faults: dead workers, retries with backoff, permanent failures, stale leases, races.

A server with a short lease (5 s), a fast reaper (0.5 s) and a 1.5-3 s retry
backoff, real worker processes (each in its own session, killed at the end),
`dummy://` sources, and `file://` destinations read back from disk.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from haul.storage.dummy import pattern_bytes
from haul.storage.temporaries import is_temp_name
from tests.engine.helpers import (
    WORKER,
    WQ,
    attempt_output,
    claim,
    claimed_elements,
    element,
    elements,
    failure_report,
    fast_recovery_args,
    fresh_server,
    running_workers,
    start_worker,
    submit,
    wait_for,
    wait_job,
)
from tests.harness import ServerProcess, User

BACKOFF = 3.0  # --backoff-base = --backoff-cap: a retry waits 1.5-3 s (equal jitter)
FAULT_ARGS = fast_recovery_args(BACKOFF)
BIG = 60_000_000
SPEED = 10_000_000


@pytest.fixture(scope="module")
def fault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    work = tmp_path_factory.mktemp("faults")
    with fresh_server("sqlite", work, FAULT_ARGS, file_root=work / "files") as srv:
        srv.file_root = work / "files"  # type: ignore[attr-defined]
        yield srv


@pytest.fixture
def user(fault_server: ServerProcess) -> User:
    return fault_server.new_user()


@pytest.fixture(scope="module")
def worker_token(fault_server: ServerProcess) -> str:
    return fault_server.new_worker()  # one CLI call per module: each costs seconds


@pytest.fixture
def worker_http(fault_server: ServerProcess, worker_token: str) -> Iterator[httpx.Client]:
    with fault_server.client(worker_token) as c:
        yield c


def _dummy_site(user: User, url: str) -> int:
    return user.site(endpoints=[url])


def _dummy_expected(path: str, size: int) -> tuple[str, int]:
    """The adler32 (8 hex digits) a dummy:// file of `size` bytes at `path` must have."""
    seed = zlib.crc32(path.encode())
    value, chunk = 1, 4 * 1024 * 1024
    for offset in range(0, size, chunk):
        value = zlib.adler32(pattern_bytes(seed, offset, min(chunk, size - offset)), value)
    return f"{value:08x}", size


def _adler32_file(path: Path) -> str:
    value = 1
    with path.open("rb") as f:
        while block := f.read(4 * 1024 * 1024):
            value = zlib.adler32(block, value)
    return f"{value:08x}"


def _when(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


# -- (a) a worker killed in the middle of a large copy ------------------------------


def test_sigkill_mid_copy_is_retried_elsewhere_and_never_leaves_a_partial_file(
    fault_server: ServerProcess, user: User, worker_token: str, tmp_path: Path
) -> None:
    files: Path = fault_server.file_root  # type: ignore[attr-defined]
    dst_dir = files / "killed"
    dst_dir.mkdir()
    final = dst_dir / "big.dat"
    src = _dummy_site(user, f"dummy://slow/?files=1&size={BIG}&speed={SPEED}")
    dst = user.site(endpoints=[f"file://{dst_dir}"])
    with user.client() as c:
        job_id = submit(
            c,
            type="COPY",
            src_siteid=src,
            src_filepath="/file-00000.dat",
            dst_siteid=dst,
            dst_filepath="/big.dat",
            max_tries=3,
        )
        first = start_worker(
            fault_server, worker_token, tmp_path, concurrency=1, heartbeat_seconds=0.5
        )
        try:
            # Mid-copy: the copy element reports progress through its heartbeats.
            def copying() -> bool:
                els = elements(c, job_id)
                if len(els) < 2:
                    return False
                p = els[1]["progress"] or {}
                return els[1]["status"] == "RUNNING" and p.get("transferred", 0) >= 5_000_000

            wait_for("the copy to be under way", copying, timeout=30, interval=0.1)
            assert not final.exists(), "bytes went to the final name before verification"
            assert any(is_temp_name(str(p)) for p in dst_dir.iterdir()), list(dst_dir.iterdir())
            first.kill()  # SIGKILL, whole process group
            first.proc.wait(5)

            # While no worker holds it: the lease expires, the reaper records a LOST
            # attempt and re-queues the element; nothing ever appears under the final name.
            def requeued() -> bool:
                assert not final.exists(), "a partial file appeared under the final name"
                e = element(c, job_id, 1)
                return e["status"] == "NEW" and e["attempts"] == 1

            wait_for("the lease to be reaped", requeued, timeout=20, interval=0.1)
            lost = attempt_output(c, job_id, 1, 1)
            assert lost["status"] == "FAILED"
            assert lost["error"]["code"] == "LOST", lost
            assert lost["error"]["retryable"] is True
            assert not final.exists()
        finally:
            first.stop()

        second = start_worker(
            fault_server, worker_token, tmp_path, concurrency=1, heartbeat_seconds=0.5
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                # Whenever the final name exists, it holds the whole file (atomic rename).
                if final.exists():
                    assert final.stat().st_size == BIG, "partial file under the final name"
                view = c.get(f"{WQ}/jobs/{job_id}").json()
                if view["status"] in ("DONE", "FAILED", "CANCELLED"):
                    break
                assert second.alive(), second.log_text()
                assert time.monotonic() < deadline, f"still {view['status']}"
                time.sleep(0.1)
        finally:
            second.stop()
        assert view["status"] == "DONE", failure_report(c, job_id)
        copy = element(c, job_id, 1)
        assert copy["status"] == "DONE" and copy["attempts"] == 2, copy
        done = attempt_output(c, job_id, 1, 2)
        assert done["status"] == "DONE" and done["returncode"] == 0

    expected, size = _dummy_expected("/file-00000.dat", BIG)
    assert final.stat().st_size == size
    assert _adler32_file(final) == expected
    # The retry removed the dead worker's temporary before copying (docs/storage.md).
    assert [p.name for p in dst_dir.iterdir()] == ["big.dat"]
    assert "left by an earlier attempt" in done["log"], done["log"]


# -- (b) a retryable failure is retried, after the backoff ----------------------------


def test_retryable_failure_waits_for_backoff_then_is_claimable(
    fault_server: ServerProcess, user: User, worker_http: httpx.Client
) -> None:
    src = _dummy_site(user, "dummy://retry/?files=1")
    with user.client() as c:
        job_id = submit(c, type="LIST", src_siteid=src, src_filepath="/", max_tries=2)
        leased = claimed_elements(claim(worker_http, ["LIST"], limit=1, lease_seconds=60))
        assert [(e["job_id"], e["id"]) for e in leased] == [(job_id, 0)]
        sent = time.monotonic()  # not_before >= (the server's now) + 1.5 s >= sent + 1.5 s
        r = worker_http.put(
            f"{WORKER}/jobs/{job_id}/elements/0",
            json={
                "token": leased[0]["token"],
                "returncode": 1,
                "host": "test",
                "error": {
                    "code": "CONNECTION",
                    "scope": "SOURCE",
                    "retryable": True,
                    "message": "connection reset",
                },
            },
        )
        assert r.status_code == 200 and r.json()["status"] == "NEW", r.text
        # not_before is in the future: nothing to claim right now.
        r = claim(worker_http, ["LIST"], limit=1)
        assert r.status_code == 404, r.text
        e = element(c, job_id, 0)
        assert (e["status"], e["attempts"]) == ("NEW", 1)

        def claimable() -> list[dict[str, Any]]:
            r = claim(worker_http, ["LIST"], limit=1, lease_seconds=60)
            return claimed_elements(r) if r.status_code == 200 else []

        again = wait_for("the retry to become claimable", claimable, timeout=10, interval=0.05)
        waited = time.monotonic() - sent
        assert BACKOFF / 2 - 0.1 <= waited <= BACKOFF + 3, waited
        assert again[0]["id"] == 0 and again[0]["attempts"] == 1
        assert again[0]["token"] != leased[0]["token"]
        # The attempt budget (max_tries=2) is spent: a second retryable failure is final.
        r = worker_http.put(
            f"{WORKER}/jobs/{job_id}/elements/0",
            json={
                "token": again[0]["token"],
                "returncode": 1,
                "error": {"code": "TIMEOUT", "scope": "SOURCE", "retryable": True},
            },
        )
        assert r.status_code == 200 and r.json()["status"] == "FAILED", r.text
        first = attempt_output(c, job_id, 0, 1)
        assert first["error"] == {
            "code": "CONNECTION",
            "scope": "SOURCE",
            "retryable": True,
            "message": "connection reset",
        }
        assert attempt_output(c, job_id, 0, 2)["error"]["code"] == "TIMEOUT"
        assert c.get(f"{WQ}/jobs/{job_id}").json()["status"] == "FAILED"


def test_injected_retryable_failures_run_every_attempt_with_backoff_between(
    fault_server: ServerProcess, user: User, worker_token: str, tmp_path: Path
) -> None:
    src = _dummy_site(user, "dummy://flaky/?files=1&size=1000&fail_rate=1")
    dst = _dummy_site(user, "dummy://flaky-dst/")
    with (
        user.client() as c,
        running_workers(fault_server, tmp_path, token=worker_token, concurrency=2) as workers,
    ):
        job_id = submit(
            c,
            type="COPY",
            src_siteid=src,
            src_filepath="/file-00000.dat",
            dst_siteid=dst,
            dst_filepath="/f",
            max_tries=3,
        )
        view = wait_job(c, job_id, timeout=30, workers=workers)
        assert view["status"] == "FAILED"
        copy = element(c, job_id, 1)
        assert (copy["status"], copy["attempts"]) == ("FAILED", 3)
        outs = [attempt_output(c, job_id, 1, n) for n in (1, 2, 3)]
        assert [o["error"]["code"] for o in outs] == ["CONNECTION"] * 3
        assert all(o["error"]["retryable"] for o in outs)
        ends = [_when(o["timestamp"]) for o in outs]
        # Each retry started only after the backoff (>= 1 s with this server's settings).
        assert all(b - a >= BACKOFF / 2 - 0.05 for a, b in zip(ends, ends[1:], strict=False)), ends


# -- (c) a non-retryable failure fails at once ----------------------------------------


def test_non_retryable_failures_fail_at_once_with_one_attempt(
    fault_server: ServerProcess, user: User, worker_token: str, tmp_path: Path
) -> None:
    src = _dummy_site(user, "dummy://perm/?files=3&size=10&fail_path=file-00001")
    dst = _dummy_site(user, "dummy://perm-dst/")
    files: Path = fault_server.file_root  # type: ignore[attr-defined]
    (files / "exists").mkdir()
    (files / "exists" / "taken.dat").write_bytes(b"keep me")
    local = user.site(endpoints=[f"file://{files / 'exists'}"])
    with (
        user.client() as c,
        running_workers(fault_server, tmp_path, token=worker_token, concurrency=2) as workers,
    ):
        taken = submit(
            c,
            type="COPY",
            src_siteid=src,
            src_filepath="/file-00000.dat",
            dst_siteid=local,
            dst_filepath="/taken.dat",
            max_tries=5,
        )
        missing = submit(
            c,
            type="COPY",
            src_siteid=src,
            src_filepath="/no/such/file",
            dst_siteid=dst,
            dst_filepath="/x",
            max_tries=5,
        )
        partial = submit(
            c,
            type="COPY",
            src_siteid=src,
            src_filepath="/",
            dst_siteid=dst,
            dst_filepath="/out",
            max_tries=5,
        )
        view = wait_job(c, missing, timeout=30, workers=workers)
        assert view["status"] == "FAILED"
        (only,) = elements(c, missing)
        assert (only["type"], only["status"], only["attempts"]) == ("LIST", "FAILED", 1)
        err = attempt_output(c, missing, 0, 1)["error"]
        assert (err["code"], err["scope"], err["retryable"]) == ("NOT_FOUND", "SOURCE", False)

        view = wait_job(c, partial, timeout=30, workers=workers)
        assert view["status"] == "FAILED"
        assert (view["num_done"], view["num_failed"]) == (3, 1), view  # LIST + 2 copies
        by_path = {e["src_filepath"]: e for e in elements(c, partial)}
        bad = by_path["/file-00001.dat"]
        assert (bad["status"], bad["attempts"]) == ("FAILED", 1)
        err = attempt_output(c, partial, bad["id"], 1)["error"]
        assert (err["code"], err["scope"], err["retryable"]) == ("NOT_FOUND", "SOURCE", False)
        assert by_path["/file-00000.dat"]["status"] == "DONE"

        # A destination that exists without `overwrite`: DESTINATION EXISTS, not retried,
        # and the file that was there is untouched.
        view = wait_job(c, taken, timeout=30, workers=workers)
        assert view["status"] == "FAILED"
        copy = element(c, taken, 1)
        assert (copy["status"], copy["attempts"]) == ("FAILED", 1)
        err = attempt_output(c, taken, 1, 1)["error"]
        assert (err["code"], err["scope"], err["retryable"]) == ("EXISTS", "DESTINATION", False)
    assert (files / "exists" / "taken.dat").read_bytes() == b"keep me"
    assert [p.name for p in (files / "exists").iterdir()] == ["taken.dat"]


# -- (d) a stale lease's report is refused and changes nothing ------------------------


def test_stale_lease_reports_are_refused_with_409(
    fault_server: ServerProcess, user: User, worker_http: httpx.Client
) -> None:
    src = _dummy_site(user, "dummy://stale/?files=2")
    listing = {"/": [{"name": "file-00000.dat", "size": 0, "is_dir": False}]}
    with user.client() as c:
        job_id = submit(c, type="LIST", src_siteid=src, src_filepath="/", max_tries=3)
        (lease,) = claimed_elements(claim(worker_http, ["LIST"], limit=1, lease_seconds=5))
        url = f"{WORKER}/jobs/{job_id}/elements/0"

        def snapshot() -> tuple[Any, ...]:
            e = element(c, job_id, 0)
            outs = c.get(f"{WQ}/jobs/{job_id}/output").json()
            return e["status"], e["attempts"], e["listing"], len(outs)

        before = snapshot()
        assert before[:2] == ("SUBMITTED", 1)  # the try under way counts
        # A token that is not the current lease: 409, nothing changes.
        r = worker_http.put(url, json={"token": "f" * 32, "returncode": 0, "listing": listing})
        assert r.status_code == 409, r.text
        assert "lease" in r.json()["detail"]
        r = worker_http.put(f"{url}/monitoring", json={"token": "f" * 32, "transferred": 1})
        assert r.status_code == 409, r.text
        assert snapshot() == before

        # The lease runs out; the reaper records it LOST. The old holder's late result is stale.
        wait_for(
            "the lease to be reaped",
            lambda: element(c, job_id, 0)["status"] == "NEW",
            timeout=15,
            interval=0.1,
        )
        reaped = snapshot()
        assert reaped[:2] == ("NEW", 1) and reaped[3] == 1
        r = worker_http.put(
            url, json={"token": lease["token"], "returncode": 0, "listing": listing}
        )
        assert r.status_code == 409, r.text
        r = worker_http.put(f"{url}/monitoring", json={"token": lease["token"]})
        assert r.status_code == 409, r.text
        r = worker_http.put(
            f"{WORKER}/results",
            json=[
                {
                    "jobid": job_id,
                    "elementid": 0,
                    "token": lease["token"],
                    "returncode": 0,
                    "listing": listing,
                }
            ],
        )
        assert r.status_code == 200 and r.json()[0]["code"] == 409, r.text
        assert snapshot() == reaped
        assert attempt_output(c, job_id, 0, 1)["error"]["code"] == "LOST"

        # The next lease succeeds once; the same report sent twice is refused the second time.
        def claimable() -> list[dict[str, Any]]:
            r = claim(worker_http, ["LIST"], limit=1, lease_seconds=60)
            return claimed_elements(r) if r.status_code == 200 else []

        (fresh,) = wait_for("the retry", claimable, timeout=10, interval=0.1)
        body = {"token": fresh["token"], "returncode": 0, "listing": listing}
        r = worker_http.put(url, json=body)
        assert r.status_code == 200 and r.json()["status"] == "DONE", r.text
        done = snapshot()
        r = worker_http.put(url, json=body)
        assert r.status_code == 409, r.text
        assert snapshot() == done
        assert done[:2] == ("DONE", 2)


# -- (e) two workers polling at once never share an element ---------------------------

N_FILES = 2000


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def race_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    with fresh_server(request.param, tmp_path_factory.mktemp("race")) as srv:
        yield srv


def test_two_workers_over_2000_elements_each_run_exactly_once(
    race_server: ServerProcess, tmp_path: Path
) -> None:
    user = race_server.new_user()
    src = user.site(endpoints=[f"dummy://many/?files={N_FILES}"])
    dst = user.site(endpoints=["dummy://sink/"])
    with user.client() as c:
        job_id = submit(
            c, type="COPY", src_siteid=src, src_filepath="/", dst_siteid=dst, dst_filepath="/out"
        )
        with running_workers(race_server, tmp_path, n=2, concurrency=8) as workers:
            view = wait_job(c, job_id, timeout=180, workers=workers)
        assert view["status"] == "DONE", failure_report(c, job_id)
        els = elements(c, job_id, limit=5000)
        assert len(els) == N_FILES + 1
        assert {e["status"] for e in els} == {"DONE"}
        twice = [e["id"] for e in els if e["attempts"] != 1]
        assert not twice, f"elements run more than once: {twice[:20]}"
        outs = c.get(f"{WQ}/jobs/{job_id}/output").json()
        assert len(outs) == N_FILES + 1
        assert {(o["attempt"], o["status"]) for o in outs} == {(1, "DONE")}


def test_concurrent_claims_never_hand_out_an_element_twice(
    race_server: ServerProcess,
) -> None:
    """Eight claimers at once over one 2,000-element queue (each claim is its own
    request and transaction, so they share one worker token: a token costs seconds)."""
    user = race_server.new_user()
    src = user.site(endpoints=["dummy://claims/?files=1"])
    listing = {"/": [{"name": f"f{i}", "size": 1, "is_dir": False} for i in range(N_FILES)]}
    tokens = [race_server.new_worker()] * 8
    with user.client() as c, race_server.client(tokens[0]) as w:
        job_id = submit(
            c, type="COPY", src_siteid=src, src_filepath="/", dst_siteid=src, dst_filepath="/copy"
        )
        (lease,) = claimed_elements(claim(w, ["LIST"], limit=1, lease_seconds=300))
        r = w.put(
            f"{WORKER}/jobs/{job_id}/elements/0",
            json={"token": lease["token"], "returncode": 0, "listing": listing},
        )
        assert r.status_code == 200, r.text
    got: list[list[tuple[int, int]]] = [[] for _ in tokens]
    errors: list[str] = []
    start = threading.Barrier(len(tokens))

    def claimer(i: int) -> None:
        with race_server.client(tokens[i]) as http:
            start.wait()
            while True:
                r = claim(http, ["COPY"], limit=25, lease_seconds=300)
                if r.status_code == 404:
                    return
                if r.status_code != 200:
                    errors.append(r.text)
                    return
                got[i].extend((e["job_id"], e["id"]) for e in claimed_elements(r))

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    everything = [key for keys in got for key in keys]
    assert len(everything) == len(set(everything)), "an element was leased twice"
    assert sorted(everything) == [(job_id, i) for i in range(1, N_FILES + 1)]
    assert sum(1 for keys in got if keys) >= 2, "the claimers did not overlap"
