"""Shared pieces of the execution-engine tests: fresh servers, worker processes, polling.

Every process started here lives in its own session (process group), and the
context managers kill those groups on the way out, so a failing assertion
never leaves a worker or a server behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import ServerProcess, postgres_database, until, worker_command

WQ = "/workqueue/api/v1.0"
WORKER = f"{WQ}/worker"
TERMINAL = {"DONE", "FAILED", "CANCELLED"}
PG_URL = os.environ.get("HAUL_TEST_POSTGRES_URL")


def fast_recovery_args(backoff: float = 1.0) -> list[str]:
    """Server flags for tests that kill workers: short leases, a fast reaper and
    short backoffs, so a dead worker's leases come back within seconds."""
    return [
        "--lease-seconds",
        "5",
        "--reaper-seconds",
        "0.5",
        "--backoff-base",
        str(backoff),
        "--backoff-cap",
        str(backoff),
    ]


def skip_or_fail(what: str) -> None:
    """A missing test service skips, except under CI=true, where it fails."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is required under CI=true")
    pytest.skip(f"{what} is not available")


@contextlib.contextmanager
def fresh_server(
    backend: str, work: Path, extra_args: list[str] | None = None, file_root: Path | None = None
) -> Iterator[ServerProcess]:
    """A server of its own (own home, own database), so its queue holds only our work."""
    args = list(extra_args or [])
    if file_root is not None:
        file_root.mkdir(parents=True, exist_ok=True)
        args += ["--file-root", str(file_root)]
    home = work / f"home-{uuid.uuid4().hex[:6]}"
    if backend == "sqlite":
        home.mkdir(parents=True)
        srv = ServerProcess(home=home, db_url=f"sqlite+pysqlite:///{home}/haul.db", extra_args=args)
        try:
            yield srv.start()
        finally:
            srv.stop()
        return
    if not PG_URL:
        skip_or_fail("PostgreSQL (HAUL_TEST_POSTGRES_URL)")
    with postgres_database(PG_URL) as url:  # type: ignore[arg-type]
        srv = ServerProcess(home=home, db_url=url, extra_args=args)
        try:
            yield srv.start()
        finally:
            srv.stop()


@dataclass
class WorkerProcess:
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signals the worker's whole process group (it is its own session leader)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def stop(self) -> None:
        if self.alive():
            self.kill(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.proc.wait(5)
        # Anything the worker started is in its group; make sure it is gone too.
        self.kill(signal.SIGKILL)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


def start_worker(
    server: ServerProcess,
    token: str,
    log_dir: Path,
    *,
    concurrency: int = 4,
    heartbeat_seconds: float = 1.0,
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    allow_loopback: bool = True,
) -> WorkerProcess:
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
    handle = open(log, "ab")  # noqa: SIM115 - the child holds it; closed below
    try:
        proc = subprocess.Popen(
            [
                *worker_command(server.url, token, allow_loopback=allow_loopback),
                "--concurrency",
                str(concurrency),
                "--heartbeat-seconds",
                str(heartbeat_seconds),
                "--verbose",
                *(extra_args or []),
            ],
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    finally:
        handle.close()
    return WorkerProcess(proc, log)


@contextlib.contextmanager
def running_workers(
    server: ServerProcess, log_dir: Path, n: int = 1, token: str | None = None, **kwargs: Any
) -> Iterator[list[WorkerProcess]]:
    token = token or server.new_worker()
    procs: list[WorkerProcess] = []
    try:
        for _ in range(n):
            procs.append(start_worker(server, token, log_dir, **kwargs))
        yield procs
    finally:
        for p in procs:
            p.stop()


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    return until(check, timeout, what, interval)


def submit(client: httpx.Client, **body: Any) -> int:
    r = client.post(f"{WQ}/jobs", json=body)
    assert r.status_code == 200, r.text
    return int(r.json()["id"])


def job(client: httpx.Client, job_id: int) -> dict[str, Any]:
    r = client.get(f"{WQ}/jobs/{job_id}")
    assert r.status_code == 200, r.text
    return r.json()


def wait_job(
    client: httpx.Client,
    job_id: int,
    timeout: float = 60,
    workers: list[WorkerProcess] | None = None,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        view = job(client, job_id)
        if view["status"] in TERMINAL:
            return view
        for w in workers or []:
            assert w.alive(), f"worker {w.pid} died:\n{w.log_text()}"
        if time.monotonic() > deadline:
            logs = "\n".join(w.log_text() for w in workers or [])
            raise AssertionError(f"job {job_id} still {view['status']} after {timeout}s\n{logs}")
        time.sleep(0.2)


def elements(client: httpx.Client, job_id: int, limit: int = 5000) -> list[dict[str, Any]]:
    r = client.get(f"{WQ}/jobs/{job_id}/elements", params={"limit": limit})
    assert r.status_code == 200, r.text
    return r.json()


def element(client: httpx.Client, job_id: int, element_id: int) -> dict[str, Any]:
    r = client.get(f"{WQ}/jobs/{job_id}/elements/{element_id}")
    assert r.status_code == 200, r.text
    return r.json()


def attempt_output(
    client: httpx.Client, job_id: int, element_id: int, attempt: int
) -> dict[str, Any]:
    r = client.get(f"{WQ}/jobs/{job_id}/elements/{element_id}/output/{attempt}")
    assert r.status_code == 200, r.text
    return r.json()


def failure_report(client: httpx.Client, job_id: int) -> str:
    """The latest attempt of every element that did not end DONE, for assertion messages."""
    r = client.get(f"{WQ}/jobs/{job_id}/output")
    if r.status_code != 200:
        return r.text
    bad = [o for o in r.json() if o["status"] != "DONE"]
    return "\n".join(f"{o['elementid']}: {o['error']}\n{o['log']}" for o in bad[:10])


def claim(
    worker: httpx.Client, types: list[str], *, algorithm: str = "BY_NUMBER", **args: Any
) -> httpx.Response:
    body: dict[str, Any] = {"types": types, "algorithm": algorithm}
    lease = args.pop("lease_seconds", None)
    if lease is not None:
        body["lease_seconds"] = lease
    if args:
        body["algorithm.args"] = args
    return worker.post(f"{WORKER}/jobs", json=body)


def claimed_elements(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return [e for j in response.json() for e in j["elements"]]


def add_credential(client: httpx.Client, site_id: int, credential: dict[str, Any]) -> None:
    r = client.post(f"/site/api/v1.0/session/{site_id}", json={**credential, "lifetime": 3600})
    assert r.status_code == 200, r.text
