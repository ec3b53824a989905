"""Helpers for the HTTP API tests: prefixes, shape checks, a scripted worker.

The scripted worker speaks the worker protocol directly (claim, heartbeat,
result) so tests can give elements attempts, logs and listings without a
real worker process or storage.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.harness import ServerProcess, postgres_database

W = "/workqueue/api/v1.0"
S = "/site/api/v1.0"
U = "/users/api/v1.0"

JOB_TYPES = {"LIST", "COPY", "REMOVE", "RENAME", "MKDIR"}
STATUSES = {"NEW", "DONE", "FAILED", "SUBMITTED", "RUNNING", "CANCELLED", "PAUSED"}
PROTOCOLS = {"GRIDFTP", "SSH", "DUMMY", "FILE", "HTTPS", "XROOTD", "S3"}
COUNT_FIELDS = (
    "num_elements", "num_new", "num_done", "num_failed", "num_submitted", "num_running",
    "num_cancelled", "num_paused",
)


def is_iso(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def check_job(job: dict[str, Any], *, counts: bool = False) -> None:
    """Every field seed 000 shows for a job, with its type."""
    assert isinstance(job["id"], int) and not isinstance(job["id"], bool)
    assert isinstance(job["user_id"], int)
    assert isinstance(job["src_siteid"], int)
    assert job["dst_siteid"] is None or isinstance(job["dst_siteid"], int)
    assert isinstance(job["src_filepath"], str)
    assert job["dst_filepath"] is None or isinstance(job["dst_filepath"], str)
    assert job["type"] in JOB_TYPES
    assert job["status"] in STATUSES
    assert isinstance(job["extra_opts"], dict)
    assert isinstance(job["priority"], int) and 0 <= job["priority"] <= 9
    assert job["protocol"] in PROTOCOLS
    assert isinstance(job["log_uid"], str) and job["log_uid"]
    assert is_iso(job["timestamp"]), job["timestamp"]
    if counts:
        for name in COUNT_FIELDS:
            assert isinstance(job[name], int) and job[name] >= 0, name
        assert job["num_elements"] == sum(job[n] for n in COUNT_FIELDS[1:])
        # haul's own: the files, without the LIST that expands a job.
        assert 0 <= job["files_done"] + job["files_failed"] <= job["num_files"]
        assert job["num_files"] <= job["num_elements"]
        if job["bytes_total"] is not None:
            assert 0 <= job["bytes_done"] <= job["bytes_total"]
        assert job["rate"] is None or job["rate"] >= 0
        assert job["eta_seconds"] is None or job["eta_seconds"] >= 0


def check_element(element: dict[str, Any]) -> None:
    """Every field seed 000 shows for an element, with its type."""
    assert isinstance(element["id"], int)
    assert isinstance(element["job_id"], int)
    assert isinstance(element["src_filepath"], str)
    assert element["dst_filepath"] is None or isinstance(element["dst_filepath"], str)
    assert isinstance(element["size"], int)
    assert isinstance(element["max_tries"], int)
    assert isinstance(element["attempts"], int)
    assert element["type"] in JOB_TYPES
    assert element["status"] in STATUSES
    assert is_iso(element["timestamp"])
    assert "listing" in element
    assert element["listing"] is None or isinstance(element["listing"], dict | list)


def check_output(output: dict[str, Any]) -> None:
    """Every field seed 000 shows for an attempt's output."""
    assert isinstance(output["jobid"], int)
    assert isinstance(output["elementid"], int)
    assert isinstance(output["attempt"], int) and output["attempt"] >= 1
    assert output["type"] in JOB_TYPES
    assert output["status"] in STATUSES
    assert isinstance(output["log"], str)
    if output["type"] == "LIST":
        assert isinstance(output["listing"], dict)


@dataclass
class ScriptedWorker:
    """A worker driven by the test, one HTTP call at a time."""

    server: ServerProcess
    token: str

    def client(self) -> httpx.Client:
        return self.server.client(self.token)

    def claim(self, types: list[str], limit: int = 100) -> list[dict[str, Any]]:
        with self.client() as c:
            r = c.post(f"{W}/worker/jobs", json={
                "types": types, "algorithm": "BY_NUMBER", "algorithm.args": {"limit": limit},
            })
        if r.status_code == 404:
            return []
        assert r.status_code == 200, r.text
        return r.json()

    def claim_elements(self, types: list[str], limit: int = 100) -> dict[tuple[int, int], str]:
        """(job_id, element_id) -> lease token for everything claimed."""
        return {
            (e["job_id"], e["id"]): e["token"]
            for job in self.claim(types, limit)
            for e in job["elements"]
        }

    def heartbeat(self, job_id: int, element_id: int, token: str, **progress: Any) -> Any:
        with self.client() as c:
            r = c.put(f"{W}/worker/jobs/{job_id}/elements/{element_id}/monitoring",
                      json={"token": token, **progress})
        assert r.status_code == 200, r.text
        return r.json()

    def report(self, job_id: int, element_id: int, token: str, returncode: int = 0,
               **extra: Any) -> httpx.Response:
        body = {"token": token, "returncode": returncode, "host": "test-host", **extra}
        with self.client() as c:
            return c.put(f"{W}/worker/jobs/{job_id}/elements/{element_id}", json=body)

    def succeed(self, job_id: int, element_id: int, token: str, **extra: Any) -> None:
        r = self.report(job_id, element_id, token, 0, **extra)
        assert r.status_code == 200, r.text

    def fail(self, job_id: int, element_id: int, token: str, *, retryable: bool,
             code: str = "NOT_FOUND", **extra: Any) -> None:
        error = {"code": code, "scope": "SOURCE", "retryable": retryable,
                 "message": f"{code.lower()} on the source"}
        r = self.report(job_id, element_id, token, 1, error=error, **extra)
        assert r.status_code == 200, r.text


@contextmanager
def dedicated_server(db_url: str, home: Path, extra_args: list[str] | None = None
                     ) -> Iterator[ServerProcess]:
    """A server of its own on a fresh database of the same backend as ``db_url``.

    Claims take any user's queued work, so tests that play the worker get a
    server where only their own jobs exist.
    """
    if db_url.startswith("sqlite"):
        with _running(ServerProcess(home=home, db_url=f"sqlite+pysqlite:///{home}/haul.db",
                                    extra_args=extra_args or [])) as srv:
            yield srv
        return
    base = os.environ["HAUL_TEST_POSTGRES_URL"]
    with postgres_database(base) as url, _running(
        ServerProcess(home=home, db_url=url, extra_args=extra_args or [])
    ) as srv:
        yield srv


@contextmanager
def _running(srv: ServerProcess) -> Iterator[ServerProcess]:
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
