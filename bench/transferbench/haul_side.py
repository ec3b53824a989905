"""haul's side of the benchmark: one server, one worker with default settings,
one site per storage server, and COPY jobs timed from submission to DONE.

The worker is what a user gets: `haul worker --concurrency 4`, plus
`--allow-network 127.0.0.0/8`, which only lets it reach the loopback servers
(it refuses them by default) and changes no speed setting. One worker serves
the whole benchmark, as a long-running worker would; its peak RSS is sampled
from /proc during every run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.proc_cpu import cpu_seconds, descendants
from tests.harness import HAUL, ServerProcess, User

from .servers import S3_BUCKET, Server

TIMELINE_STEP = 0.1  # seconds per bucket of $HAUL_BENCH_TIMELINE's histogram


def timeline(stamps: list[float], wall0: float) -> str:
    """How many elements ended in each TIMELINE_STEP after submission: shows a
    slow start (LIST, expansion, first claim) and gaps where slots waited."""
    counts: dict[int, int] = {}
    for stamp in stamps:
        slot = int(max(0.0, stamp - wall0) / TIMELINE_STEP)
        counts[slot] = counts.get(slot, 0) + 1
    last = max(counts, default=-1)
    return " ".join(str(counts.get(i, 0)) for i in range(last + 1))

WQ = "/workqueue/api/v1.0"
WORKER_ARGS = ["--concurrency", "4", "--allow-network", "127.0.0.0/8"]
# The run ends when the server records the job's last result (the latest
# element timestamp, read once after DONE), not when a poll sees DONE: a poll
# every 50 ms cost the server as much CPU as a fifth of the elements' own
# reports on this 2-core machine, and quantised each run to the poll.
POLL_SECONDS = 0.25


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _rchar(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("rchar:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0




class RssSampler:
    """Peak resident memory of a process and its children while a run lasts:
    the kernel's high-water mark (reset first via clear_refs) and 10 Hz samples
    of the whole tree, whichever is higher."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kib = pid, 0
        self.read_bytes = 0  # what the worker read (files and sockets) during the run
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> RssSampler:
        with contextlib.suppress(OSError):
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        self._rchar0 = _rchar(self.pid)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            tree = [self.pid, *descendants(self.pid)]
            self.peak_kib = max(self.peak_kib, sum(_status_kib(p, "VmRSS") for p in tree))

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kib = max(self.peak_kib, _status_kib(self.pid, "VmHWM"))
        self.read_bytes = _rchar(self.pid) - self._rchar0

    @property
    def peak_mb(self) -> float:
        return self.peak_kib * 1024 / 1e6


@dataclass
class HaulRun:
    seconds: float
    status: str
    error: str | None
    rss_mb: float
    worker_read_mb: float = 0.0
    # CPU each process used during the run: on 2 cores, small files are bound
    # by the sum, not by either one's wall time.
    worker_cpu: float = 0.0
    server_cpu: float = 0.0


@dataclass
class HaulRig:
    work: Path
    file_root: Path
    server: ServerProcess | None = None
    user: User | None = None
    worker: subprocess.Popen[bytes] | None = None
    worker_token: str = ""
    sites: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # py-spy records the worker during each run into this directory (--profile).
    profile_dir: Path | None = None
    ca_file: Path | None = None  # the worker's SSL_CERT_FILE (trust)

    def start(self) -> HaulRig:
        home = self.work / f"haul-home-{uuid.uuid4().hex[:6]}"
        home.mkdir(parents=True)
        self.server = ServerProcess(
            home=home,
            db_url=f"sqlite+pysqlite:///{home}/haul.db",
            extra_args=["--file-root", str(self.file_root)],
        ).start()
        self.user = self.server.new_user()
        self.worker_token = self.server.new_worker("bench")
        self._start_worker()
        return self

    def trust(self, ca_file: Path) -> None:
        """Restarts the worker trusting ``ca_file`` (``SSL_CERT_FILE``), once: for a
        site that takes no credential, so none can carry a ``ca_cert``. Sites that
        name their own ``ca_cert`` (Apache's) still use theirs."""
        if self.ca_file == ca_file:
            return
        self.ca_file = ca_file
        self.stop_worker()
        self._start_worker()

    def stop_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, 15)
            try:
                self.worker.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.worker.pid, 9)

    def _start_worker(self) -> None:
        assert self.server is not None
        log = open(self.work / "worker.log", "ab")  # noqa: SIM115 - the child holds it
        argv = [*HAUL, "worker", "--server", self.server.url, "--token", self.worker_token]
        env = {**os.environ, **({"SSL_CERT_FILE": str(self.ca_file)} if self.ca_file else {})}
        self.worker = subprocess.Popen(
            [*argv, *WORKER_ARGS],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        time.sleep(1.5)  # imports and the first poll; not part of any run

    @property
    def worker_pid(self) -> int:
        assert self.worker is not None
        return self.worker.pid

    def stop(self) -> None:
        self.stop_worker()
        if self.server is not None:
            self.server.stop()

    def client(self) -> httpx.Client:
        assert self.user is not None
        return self.user.client()

    def site(self, key: str, server: Server | None) -> int:
        """One site per storage server (``key``), registered on first use.

        Network sites go through the user with a credential where the server
        has one; XRootD has none, so an admin registers it (only admins may
        register a network site that needs no credential)."""
        if key in self.sites:
            return self.sites[key]
        assert self.server is not None
        credential: dict[str, Any] = {}
        if server is None:
            url = f"file://{self.file_root}"
        elif server.kind == "sftp":
            url, credential = f"sftp://{server.host_port}/", dict(server.credential)
        elif server.kind in ("root", "root2") and key in ("roots", "roots2"):
            # The same XRootD server through its HTTP plugin (runner.HTTPS_OF), which
            # takes no login: the worker trusts its certificate (as the tests do).
            url = f"davs://127.0.0.1:{server.https_port}{server.root}"
            assert server.ca_file is not None
            self.trust(server.ca_file)
        elif server.kind in ("root", "root2"):
            url = f"root://{server.host_port}/{server.root}"
        elif server.kind == "dav":
            url = f"https://{server.host_port}/dav"
            credential = {**server.credential, "ca_cert": str(server.ca_file)}
        elif server.kind == "s3":
            url, credential = f"s3://{server.host_port}/{S3_BUCKET}?scheme=http", server.credential
        else:
            raise ValueError(server.kind)
        body: dict[str, Any] = {"site_name": f"bench-{key}", "endpoints": [url]}
        with self.client() as c, self.server.admin() as admin:
            registrar = c
            if server is not None and not credential:
                body.update(requires_credential=False, public=True)
                registrar = admin
            r = registrar.post("/site/api/v1.0/site", json=body)
            r.raise_for_status()
            site_id = int(r.json())
            if credential:
                r = c.post(
                    f"/site/api/v1.0/session/{site_id}", json={**credential, "lifetime": 86400}
                )
                r.raise_for_status()
        self.sites[key] = site_id
        return site_id

    def copy(
        self,
        src_site: int,
        src_path: str,
        dst_site: int,
        dst_path: str,
        timeout: float,
        label: str = "run",
    ) -> HaulRun:
        """One COPY job with default options (adler32, verified), submission to DONE."""
        if self.worker is None or self.worker.poll() is not None:
            self.notes.append("the worker had exited and was restarted")
            self._start_worker()
        body = {
            "type": "COPY",
            "src_siteid": src_site,
            "src_filepath": src_path,
            "dst_siteid": dst_site,
            "dst_filepath": dst_path,
        }
        with (
            self.client() as c,
            RssSampler(self.worker_pid) as rss,
            self._profiled(label),
        ):
            assert self.server is not None and self.server.proc is not None
            server_pid = self.server.proc.pid
            cpu0 = cpu_seconds(self.worker_pid), cpu_seconds(server_pid)
            t0, wall0 = time.monotonic(), time.time()
            r = c.post(f"{WQ}/jobs", json=body)
            r.raise_for_status()
            job_id = int(r.json()["id"])
            if os.environ.get("HAUL_BENCH_TIMELINE"):
                print(f"    submitted at {wall0:.4f}, answered after {time.time() - wall0:.4f} s")
            while True:
                view = c.get(f"{WQ}/jobs/{job_id}").json()
                if view["status"] in ("DONE", "FAILED", "CANCELLED"):
                    break
                if time.monotonic() - t0 > timeout:
                    c.post(f"{WQ}/jobs/{job_id}/cancel")
                    return HaulRun(timeout, "TIMEOUT", f"not done after {timeout:.0f} s", 0.0)
                time.sleep(POLL_SECONDS)
            seconds = time.monotonic() - t0
            cpu = cpu_seconds(self.worker_pid) - cpu0[0], cpu_seconds(server_pid) - cpu0[1]
            seconds = self._ended(c, job_id, wall0, seconds)
            error = None if view["status"] == "DONE" else self._failures(c, job_id)
        return HaulRun(
            seconds, view["status"], error, rss.peak_mb, rss.read_bytes / 1e6, *cpu
        )

    @contextlib.contextmanager
    def _profiled(self, label: str) -> Iterator[None]:
        """py-spy's samples of the worker and of the server (all threads, idle ones
        too, so waits on the network show) as collapsed stacks, one file per run
        and process (``LABEL.txt`` the worker, ``LABEL-server.txt`` the server):
        with 1,000 elements done in about a second, the server's CPU per element
        counts as much as the worker's."""
        if self.profile_dir is None:
            yield
            return
        assert self.server is not None and self.server.proc is not None
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        procs = []
        for pid, out in (
            (self.worker_pid, self.profile_dir / f"{label}.txt"),
            (self.server.proc.pid, self.profile_dir / f"{label}-server.txt"),
        ):
            argv = [spy, "record", "-p", str(pid), "-f", "raw", "-o", str(out)]
            procs.append(
                subprocess.Popen(
                    # $HAUL_BENCH_SPY="--gil" samples only the GIL holder (CPU, not waits)
                    [*argv, *os.environ.get("HAUL_BENCH_SPY", "--idle").split(), "--threads"]
                    + ["--rate", "100", "--nonblocking"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        time.sleep(0.5)  # attached before the job starts
        try:
            yield
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGINT)
            for proc in procs:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()

    @staticmethod
    def _ended(c: httpx.Client, job_id: int, wall0: float, polled: float) -> float:
        """Seconds from submission to the job's last recorded result (server and
        bench share this machine's clock), or `polled` if that cannot be read."""
        r = c.get(f"{WQ}/jobs/{job_id}/elements", params={"limit": 10_000})
        if r.status_code != 200:
            return polled
        stamps = [datetime.fromisoformat(e["timestamp"]).timestamp() for e in r.json()]
        if os.environ.get("HAUL_BENCH_TIMELINE"):
            print(f"    results per {TIMELINE_STEP} s from submission: {timeline(stamps, wall0)}")
        seconds = max(stamps, default=0.0) - wall0
        return seconds if 0 < seconds <= polled else polled

    @staticmethod
    def _failures(c: httpx.Client, job_id: int) -> str:
        r = c.get(f"{WQ}/jobs/{job_id}/output")
        if r.status_code != 200:
            return r.text[:300]
        bad = [o for o in r.json() if o["status"] != "DONE"]
        if not bad:
            return "job not DONE, no failed element"
        first = bad[0]["error"] or {}
        said = first.get("message", str(first)) if isinstance(first, dict) else str(first)
        code = first.get("code", "?") if isinstance(first, dict) else "?"
        return f"{len(bad)} elements failed, first {code}: {said[:160]}"
