"""The server and worker processes `haul run` keeps beside each other.

Both run in process groups of their own, so Ctrl-C reaches only `haul run`,
which then stops them in order: the worker first (it reports what it holds
while the server still answers), then the server. Stopping them the other
way round, or both at once as a terminal's Ctrl-C did, left the worker
retrying against a closed port for its whole grace period.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import typer

from haul.config import Settings

HAUL = [sys.executable, "-m", "haul"]
START_SECONDS = 30
STOP_SECONDS = 20


class LocalRun:
    def __init__(
        self,
        settings: Settings,
        host: str,
        port: int,
        file_roots: list[str],
        concurrency: int,
        worker_token: str,
    ) -> None:
        self.settings, self.host, self.port = settings, host, port
        self.file_roots, self.concurrency, self.worker_token = file_roots, concurrency, worker_token
        self.server: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.stopping = False

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _stop_requested(self, *_: object) -> None:
        self.stopping = True

    def start(self) -> None:
        """Starts the server, waits until it answers, then starts the worker."""
        # From here on Ctrl-C is a request to stop in order, never a traceback
        # that leaves the children (in their own sessions) running.
        signal.signal(signal.SIGTERM, self._stop_requested)
        signal.signal(signal.SIGINT, self._stop_requested)
        args = [*HAUL, "server", "--host", self.host, "--port", str(self.port),
                "--home", str(self.settings.home), "--db", self.settings.db_url]
        for root in self.file_roots:
            args += ["--file-root", root]
        self.server = subprocess.Popen(args, start_new_session=True)
        deadline = time.monotonic() + START_SECONDS
        while True:
            if self.stopping:
                self._stop(self.server)
                raise typer.Exit(0)
            if self.server.poll() is not None:
                typer.echo(f"error: the server exited ({self.server.returncode}) before it "
                           "answered; see its messages above", err=True)
                raise typer.Exit(self.server.returncode or 1)
            try:
                if httpx.get(f"{self.base}/hello", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self._stop(self.server)
                typer.echo(f"error: the server did not answer on {self.base} within "
                           f"{START_SECONDS} s", err=True)
                raise typer.Exit(1)
            time.sleep(0.2)
        self.worker = subprocess.Popen(
            [*HAUL, "worker", "--server", self.base, "--concurrency", str(self.concurrency)],
            env={**os.environ, "HAUL_TOKEN": self.worker_token},
            start_new_session=True,
        )

    def serve(self) -> int:
        """Waits for Ctrl-C or SIGTERM (or a child's exit); stops both; the exit code."""
        procs = [p for p in (self.server, self.worker) if p is not None]
        while not self.stopping and all(p.poll() is None for p in procs):
            time.sleep(0.2)
        died = [p for p in procs if p.poll() is not None]
        if self.stopping:
            typer.echo("stopping: the worker first, then the server", err=True)
        self._stop(self.worker)
        self._stop(self.server)
        if died and not self.stopping:
            typer.echo("error: " + ("the server" if died[0] is self.server else "the worker")
                       + f" exited ({died[0].returncode}); stopped the other", err=True)
            return 1
        return 0

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes] | None) -> None:
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
