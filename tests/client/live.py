"""A haul server of its own, with a real worker, for the client and CLI tests.

The shared ``server`` fixture is used by other suites whose tests play the
worker themselves; a real worker there would steal their queued elements.
So these tests get their own server on a fresh database of the same backend
(``db_url``), a worker subprocess, and a file root holding two site
directories, and kill the worker's and server's process groups at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.harness import ServerProcess, User, fresh_database, worker_command

# A source whose files take a few seconds each, so control verbs meet running work.
SLOW_SOURCE = "dummy://slow-{tag}/?files={files}&size=3000000&speed=600000"


@dataclass
class Live:
    server: ServerProcess
    root: Path
    worker_token: str

    @property
    def url(self) -> str:
        return self.server.url

    def admin_site(self, endpoint: str) -> int:
        """A public site registered by the admin (file:// outside a file root needs one)."""
        with self.server.admin() as c:
            r = c.post("/site/api/v1.0/site", json={
                "site_name": f"s-{uuid.uuid4().hex[:8]}", "public": True, "endpoints": [endpoint],
            })
            assert r.status_code == 200, r.text
            return int(r.json())

    def new_user(self) -> User:
        return self.server.new_user()


@contextmanager
def live_haul(db_url: str, base: Path, concurrency: int = 2) -> Iterator[Live]:
    home, root = base / "home", base / "files"
    home.mkdir(parents=True)
    root.mkdir(parents=True)
    with fresh_database(db_url, home) as url:
        srv = ServerProcess(home=home, db_url=url,
                            extra_args=["--file-root", str(root), "--reaper-seconds", "1"])
        srv.start()
        worker: subprocess.Popen[bytes] | None = None
        try:
            token = srv.new_worker()
            log = open(home / "worker.log", "ab")  # noqa: SIM115 - closed below
            worker = subprocess.Popen(
                [*worker_command(srv.url, token),
                 "--heartbeat-seconds", "1", "--concurrency", str(concurrency),
                 # --prefetch 0: the steering tests need elements no worker holds
                 # yet beside running ones; by default a worker leases ahead.
                 "--prefetch", "0", "--file-root", str(root)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
            yield Live(srv, root, token)
        finally:
            if worker is not None:
                _stop(worker)
                log.close()
            srv.stop()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
