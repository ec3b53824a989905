"""A haul server of its own for the job-type tests, with two real worker processes.

Pausing a type, capping it with ``max_scheduled`` and submitting every kind
of job from the schema all change what the whole queue hands out, so these
tests must not share a server with suites that play the worker themselves.
The workers serve only custom types (``--types`` names one, and every
``--handler`` adds its own), so file jobs submitted here just wait.
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.harness import ServerProcess, User, fresh_database, until, worker_command

W = "/workqueue/api/v1.0"
REPO = Path(__file__).resolve().parents[2]
TERMINAL = frozenset({"DONE", "FAILED", "CANCELLED"})

# Job type -> handler. Each test uses its own types, so one test's pause or
# cap never holds up another's jobs.
HANDLERS = {
    "checksum": "examples.checksum_handler:run",
    "echo": "tests.jobtypes.handlers:echo",
    "boom": "tests.jobtypes.handlers:boom",
    "fragile": "tests.jobtypes.handlers:fragile",
    "sleepy": "tests.jobtypes.handlers:slow",
    "gated": "tests.jobtypes.handlers:echo",
    "capped": "tests.jobtypes.handlers:slow",
}
WORKERS = 2


@dataclass
class JobTypesLive:
    server: ServerProcess
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def admin(self) -> httpx.Client:
        return self.server.admin()

    def new_user(self) -> User:
        return self.server.new_user()

    def ensure_type(self, name: str, version: str = "1", **fields: Any) -> dict[str, Any]:
        """Registers a type, or sets ``fields`` on it when an earlier test already did."""
        with self.admin() as c:
            r = c.post(f"{W}/job-types", json={"name": name, "version": version, **fields})
            if r.status_code == 409 and fields:
                r = c.patch(f"{W}/job-types/{name}/{version}", json=fields)
            elif r.status_code == 409:
                r = c.get(f"{W}/job-types/{name}/{version}")
            assert r.status_code in (200, 201), r.text
            return dict(r.json())

    def patch_type(self, name: str, version: str = "1", **fields: Any) -> dict[str, Any]:
        with self.admin() as c:
            r = c.patch(f"{W}/job-types/{name}/{version}", json=fields)
            assert r.status_code == 200, r.text
            return dict(r.json())

    def workers_alive(self) -> bool:
        return all(w.poll() is None for w in self.workers)

    def worker_logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:]
            for p in sorted(self.server.home.glob("worker-*.log"))
        )


def submit(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"{W}/jobs", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def job(client: httpx.Client, job_id: int) -> dict[str, Any]:
    r = client.get(f"{W}/jobs/{job_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def element(client: httpx.Client, job_id: int) -> dict[str, Any]:
    r = client.get(f"{W}/jobs/{job_id}/elements/0")
    assert r.status_code == 200, r.text
    return dict(r.json())


def wait_job(
    client: httpx.Client, job_id: int, statuses: Iterable[str] = TERMINAL, timeout: float = 30
) -> dict[str, Any]:
    wanted = set(statuses)
    return until(
        lambda: j if (j := job(client, job_id))["status"] in wanted else None,
        timeout,
        f"job {job_id} to become {'/'.join(sorted(wanted))}",
    )


def _start_worker(srv: ServerProcess, n: int, token: str) -> subprocess.Popen[bytes]:
    specs = [arg for name, target in HANDLERS.items() for arg in ("--handler", f"{name}={target}")]
    with open(srv.home / f"worker-{n}.log", "ab") as log:
        return subprocess.Popen(
            [
                *worker_command(srv.url, token),
                "--heartbeat-seconds",
                "1",
                "--concurrency",
                "4",
                "--types",
                "echo",
                *specs,
            ],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to every group first: each worker may sit in a long-poll claim for seconds."""
    running = [p for p in procs if p.poll() is None]
    for p in running:
        os.killpg(p.pid, signal.SIGTERM)
    for p in running:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)


@contextmanager
def job_types_haul(db_url: str, base: Path) -> Iterator[JobTypesLive]:
    home = base / "home"
    home.mkdir(parents=True)
    with fresh_database(db_url, home) as url:
        # Quick reaping and backoff so failed attempts are retried within a test's patience.
        srv = ServerProcess(
            home=home,
            db_url=url,
            extra_args=[
                "--reaper-seconds",
                "1",
                "--backoff-base",
                "0.2",
                "--backoff-cap",
                "1",
            ],
        )
        srv.start()
        live = JobTypesLive(srv)
        try:
            # The CLI that mints worker tokens takes seconds to start: mint them side by side.
            with ThreadPoolExecutor(WORKERS) as pool:
                tokens = list(
                    pool.map(
                        lambda n: srv.new_worker(f"jt-{n}-{uuid.uuid4().hex[:6]}"), range(WORKERS)
                    )
                )
            live.workers = [_start_worker(srv, n, t) for n, t in enumerate(tokens)]
            yield live
        finally:
            _stop(live.workers)
            srv.stop()
