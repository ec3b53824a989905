"""Handlers run by real workers: success (the checksum example), failure, cancellation."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from tests.harness import until
from tests.jobtypes.live import JobTypesLive, W, element, submit, wait_job


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_checksum_example_end_to_end(jt: JobTypesLive, tmp_path: Path, algorithm: str) -> None:
    jt.ensure_type("checksum", title="File checksum", category="example")
    data = os.urandom(3 * (1 << 20) + 17)  # several of the handler's 1 MiB chunks
    path = tmp_path / "a.bin"
    path.write_bytes(data)
    with jt.new_user().client() as c:
        created = submit(
            c,
            {
                "type": "checksum",
                "name": f"check {path.name}",
                "request": {"url": "file:///", "path": str(path), "algorithm": algorithm},
            },
        )
        done = wait_job(c, created["id"])
        assert done["status"] == "DONE", jt.worker_logs()
        r = c.get(f"{W}/jobs/{created['id']}/result")
        assert r.status_code == 200, r.text
        assert r.json() == {
            "jobid": created["id"],
            "status": "DONE",
            "result": {
                "path": str(path),
                "size": len(data),
                "algorithm": algorithm,
                "checksum": hashlib.new(algorithm, data).hexdigest(),
            },
        }
        out = c.get(f"{W}/jobs/{created['id']}/elements/0/output").json()
        assert hashlib.new(algorithm, data).hexdigest() in out["log"]  # the handler's ctx.log


def test_result_is_404_until_there_is_one(jt: JobTypesLive) -> None:
    name = "gated-result"
    jt.ensure_type(name, is_paused=True)  # no handler and paused: it never runs
    with jt.new_user().client() as c:
        created = submit(c, {"type": name, "request": {}})
        r = c.get(f"{W}/jobs/{created['id']}/result")
        assert r.status_code == 404, r.text


def test_handler_exception_fails_after_max_tries(jt: JobTypesLive) -> None:
    jt.ensure_type("boom")
    message = "disk on fire 42"
    with jt.new_user().client() as c:
        created = submit(c, {"type": "boom", "max_tries": 2, "request": {"message": message}})
        failed = wait_job(c, created["id"])
        assert failed["status"] == "FAILED", jt.worker_logs()
        assert element(c, created["id"])["attempts"] == 2
        for attempt in (1, 2):
            r = c.get(f"{W}/jobs/{created['id']}/elements/0/output/{attempt}")
            assert r.status_code == 200, r.text
            out = r.json()
            assert out["status"] == "FAILED" and out["attempt"] == attempt
            assert out["error"]["message"] == f"RuntimeError: {message}"
            assert out["error"]["retryable"] is True
            assert "about to fail" in out["log"]  # the handler's own ctx.log line
            assert "Traceback (most recent call last)" in out["log"]
            assert f"RuntimeError: {message}" in out["log"]
            assert "tests/jobtypes/handlers.py" in out["log"]
        latest = c.get(f"{W}/jobs/{created['id']}/elements/0/output").json()
        assert latest["attempt"] == 2
        assert c.get(f"{W}/jobs/{created['id']}/result").status_code == 404


def test_permanent_error_is_not_retried(jt: JobTypesLive) -> None:
    jt.ensure_type("fragile")
    with jt.new_user().client() as c:
        created = submit(c, {"type": "fragile", "max_tries": 5, "request": {}})
        assert wait_job(c, created["id"])["status"] == "FAILED", jt.worker_logs()
        assert element(c, created["id"])["attempts"] == 1
        out = c.get(f"{W}/jobs/{created['id']}/elements/0/output").json()
        assert out["error"]["retryable"] is False
        assert "PermanentError: this request can never work" in out["error"]["message"]
        assert "Traceback (most recent call last)" in out["log"]


def test_cancel_stops_a_running_handler(jt: JobTypesLive) -> None:
    jt.ensure_type("sleepy")
    with jt.new_user().client() as c:
        created = submit(c, {"type": "sleepy", "request": {"seconds": 60}})
        job_id = created["id"]
        # Progress arrives in a heartbeat, so the handler is really inside its loop.
        until(lambda: element(c, job_id).get("progress"), 20, "the handler to report progress")
        started = time.monotonic()
        r = c.post(f"{W}/jobs/{job_id}/cancel")
        assert r.status_code == 200, r.text
        until(lambda: element(c, job_id)["status"] == "CANCELLED", 20, "the element to stop")
        assert time.monotonic() - started < 20  # long before the handler's 60 s
        assert wait_job(c, job_id, timeout=5)["status"] == "CANCELLED"
        out = c.get(f"{W}/jobs/{job_id}/elements/0/output").json()
        assert "stopping: cancelled" in out["log"], out  # the handler saw context.cancelled()
        assert out["error"]["code"] == "CANCELLED"
        assert c.get(f"{W}/jobs/{job_id}/result").status_code == 404
    assert jt.workers_alive()
