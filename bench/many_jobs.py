"""Many jobs: how fast haul accepts and drains work that arrives as many jobs.

bench/queue_throughput.py measures the claim/result path: one job of a
big directory, workers tuned to claim far ahead. This one measures what
issue 13 names, with 2 workers at their default settings, each in its own
``--modes`` mode:

- ``per-job``: ``--jobs`` one-file jobs, each one ``POST
  /workqueue/api/v1.0/copy`` of a zero-size ``dummy://`` file; enqueue rate
  (sequential calls from one client, plus ``--clients K`` concurrent ones when
  K > 1), then drain rate until every job is DONE;
- ``file-list``: one COPY listing ``--files`` files; enqueue and drain, files/s;
- ``directory``: one COPY of a ``--files``-file dummy directory, submitted with
  the workers already polling; elements/s from submission to DONE (LIST and
  expansion included).

Enqueue runs with no worker started, so it measures the submission route
alone; the workers start afterwards and drain is timed from the first
element done to the last, so their start-up is not counted (PgQueuer's
consumers are timed the same way). ``--peers pgqueuer`` runs PgQueuer with
the same ``--jobs`` in the same invocation (bench/pgqueuer_peer.py) and
prints the ratios of issue 13's targets. Run:

    .venv/bin/python bench/many_jobs.py --jobs 2000 --files 10000 --peers pgqueuer

Add ``--db postgresql+psycopg://postgres@127.0.0.1:5432/test`` for haul on
PostgreSQL (a throw-away database is created and dropped).
``--server-pid-file`` writes the server's pid and ``--pause-before-enqueue S``
waits S seconds first, for ``py-spy record --pid``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench.proc_cpu import cpu_seconds  # noqa: E402
from tests.harness import HAUL, User, bench_server  # noqa: E402

W = "/workqueue/api/v1.0"
MODES = ("per-job", "file-list", "directory")
TERMINAL = ("DONE", "FAILED", "CANCELLED")




def own_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class Api:
    """One keep-alive connection of the standard library's http.client.

    The client shares 2 cores with the server it measures; httpx spends
    about 1 ms of CPU a request, http.client a fraction of that, and the
    client's CPU is printed beside the server's anyway.
    """

    def __init__(self, url: str, token: str) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(
        self, method: str, path: str, body: Any = None
    ) -> tuple[Any, http.client.HTTPResponse]:
        data = None if body is None else json.dumps(body).encode()
        self.conn.request(method, path, body=data, headers=self.headers)
        r = self.conn.getresponse()
        payload = r.read()
        if r.status >= 400:
            raise RuntimeError(f"{method} {path}: {r.status} {payload[:300]!r}")
        return json.loads(payload), r

    def close(self) -> None:
        self.conn.close()


class Haul:
    """A haul server, its sites and its (not yet started) workers."""

    def __init__(self, stack: ExitStack, db: str | None, files: int, pid_file: str | None) -> None:
        self.srv = bench_server(stack, db)
        if pid_file:
            Path(pid_file).write_text(str(self.srv.proc.pid))  # type: ignore[union-attr]
        self.token = self.srv.new_worker("bench")
        self.user: User = self.srv.new_user()
        self.one = self.user.site("one-file", ["dummy://src1/?files=1&size=0"])
        self.many = self.user.site("many-files", [f"dummy://srcn/?files={files}&size=0"])
        self.dst = self.user.site("dst", ["dummy://dst/"])
        self.workers: list[subprocess.Popen[bytes]] = []
        self.worker_args: list[str] = []
        stack.callback(self.stop_workers)

    def api(self) -> Api:
        return Api(self.srv.url, self.user.token)

    def start_workers(self, n: int) -> None:
        for _ in range(n):
            cmd = [*HAUL, "worker", "--server", self.srv.url, "--token", self.token]
            cmd += self.worker_args
            self.workers.append(subprocess.Popen(cmd, start_new_session=True))

    def stop_workers(self) -> None:
        for p in self.workers:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.workers = []

    def cpu(self) -> tuple[float, float]:
        """(server, workers) CPU seconds so far."""
        return cpu_seconds(self.srv.proc.pid), sum(cpu_seconds(p.pid) for p in self.workers)  # type: ignore[union-attr]


def one_file_job(h: Haul, i: int) -> dict[str, Any]:
    return {
        "src_siteid": h.one,
        "dst_siteid": h.dst,
        "src_filepath": "/file-00000.dat",
        "dst_filepath": f"/per-job/{i:06d}.dat",
        "extra_opts": {"checksum": "none"},
    }


def enqueue_per_job(h: Haul, n: int, clients: int) -> tuple[float, list[int]]:
    """Seconds to submit n one-file jobs from `clients` concurrent connections, and their ids."""
    ids: list[int] = []
    errors: list[BaseException] = []

    def run(offset: int) -> None:
        api = h.api()
        try:
            for i in range(offset, n, clients):
                job, _ = api.call("POST", f"{W}/copy", one_file_job(h, i))
                ids.append(job["id"])
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)
        finally:
            api.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - t0, ids


def drain(probe: Any, total: int, interval: float, timeout: float = 1800) -> tuple[float, int]:
    """Seconds from the first element seen done to the last, and how many were done in
    that window; ``probe()`` answers (done, finished) and is asked every ``interval``
    seconds (its own cost is load on the server it measures: keep it rare)."""
    first_at, done_then = None, 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, finished = probe()
        now = time.perf_counter()
        if first_at is None and done > 0:
            first_at, done_then = now, done
        if finished:
            if done < total:
                raise RuntimeError(f"finished with {done}/{total} done")
            return (now - first_at if first_at else float("nan")), total - done_then
        time.sleep(interval)
    raise RuntimeError("drain timed out")


class Report:
    def __init__(self) -> None:
        self.figures: dict[str, float] = {}

    def line(self, key: str, rate: float, unit: str, detail: str) -> None:
        self.figures[key] = rate
        print(f"  {key:<22} {rate:>9.0f} {unit:<11} {detail}", flush=True)


def cpu_note(h: Haul, cpu0: tuple[float, float], client0: float | None, count: int) -> str:
    server, workers = (a - b for a, b in zip(h.cpu(), cpu0, strict=True))
    parts = [f"server {server:.2f} s ({1e6 * server / count:.0f} us each)"]
    if h.workers:
        parts.append(f"workers {workers:.2f} s ({1e6 * workers / count:.0f} us each)")
    if client0 is not None:
        client = own_cpu() - client0
        parts.append(f"client {client:.2f} s ({1e6 * client / count:.0f} us each)")
    return "CPU: " + ", ".join(parts)


def per_job(stack: ExitStack, args: argparse.Namespace, rep: Report) -> None:
    h = Haul(stack, args.db, 1, args.server_pid_file)
    h.worker_args = args.worker_args.split()
    n = args.jobs
    if args.pause_before_enqueue:
        print(
            f"  server pid {h.srv.proc.pid}; enqueue in {args.pause_before_enqueue} s", flush=True
        )  # type: ignore[union-attr]
        time.sleep(args.pause_before_enqueue)
    cpu0, c0 = h.cpu(), own_cpu()
    secs, ids = enqueue_per_job(h, n, 1)
    rep.line(
        "per-job enqueue", n / secs, "jobs/s", f"{n} calls, 1 client; " + cpu_note(h, cpu0, c0, n)
    )
    if args.clients > 1:
        cpu0, c0 = h.cpu(), own_cpu()
        secs, more = enqueue_per_job(h, n, args.clients)
        ids += more
        rep.line(
            f"per-job enqueue x{args.clients}",
            n / secs,
            "jobs/s",
            f"{n} calls, {args.clients} clients; " + cpu_note(h, cpu0, c0, n),
        )
    total = len(ids)
    api = h.api()

    asked = 0

    def probe() -> tuple[int, bool]:
        # The job list counts every job's elements to filter by status: a
        # second's sampling costs the drain little, 20 a second cost it a fifth.
        nonlocal asked
        asked += 1
        _, r = api.call("GET", f"{W}/jobs?status=DONE&limit=1")
        done = int(r.headers["X-Total-Count"])
        if done >= total:
            return done, True
        if asked % 10:
            return done, False
        _, r = api.call("GET", f"{W}/jobs?status=FAILED&status=CANCELLED&limit=1")
        return done, done + int(r.headers["X-Total-Count"]) >= total

    def started() -> bool:
        _, r = api.call("GET", f"{W}/jobs?status=NEW&limit=1")
        return int(r.headers["X-Total-Count"]) < total

    h.start_workers(args.workers)
    cpu0 = h.cpu()
    # A second clock from the first claim (the first job that is no longer
    # NEW): "first job DONE" starts late when every LIST runs before any copy
    # (main's order), and early when each job's copy follows its LIST.
    while not started():
        time.sleep(0.05)
    began = time.perf_counter()
    # CPU is counted from the first claim: before it the workers only start up
    # (imports, TLS context: ~0.5 s of CPU each, paid once per process, not per
    # job; the directory mode does not count it either).
    at_claim = h.cpu()
    secs, counted = drain(probe, total, 1.0)
    whole = time.perf_counter() - began
    rep.line(
        "per-job drain",
        counted / secs if secs > 0 else float("nan"),  # all done at the first look: see "(claimed)"
        "jobs/s",
        f"{total} jobs; " + cpu_note(h, at_claim, None, total)
        + f"; before the first claim: server {at_claim[0] - cpu0[0]:.2f} s,"
        f" workers {at_claim[1] - cpu0[1]:.2f} s (start-up, not counted)",
    )
    rep.line(
        "per-job drain (claimed)",
        total / whole,
        "jobs/s",
        f"{total} jobs from the first claim to the last job DONE, {whole:.1f} s",
    )
    api.close()


def file_list(stack: ExitStack, args: argparse.Namespace, rep: Report) -> None:
    n = args.files
    h = Haul(stack, args.db, n, None)
    h.worker_args = args.worker_args.split()
    body = {
        "src_siteid": h.many,
        "dst_siteid": h.dst,
        "files": [
            {"src_filepath": f"/file-{i:05d}.dat", "dst_filepath": f"/list/{i:06d}.dat"}
            for i in range(n)
        ],
        "extra_opts": {"checksum": "none"},
    }
    api = h.api()
    cpu0, c0 = h.cpu(), own_cpu()
    t0 = time.perf_counter()
    job, _ = api.call("POST", f"{W}/copy", body)
    secs = time.perf_counter() - t0
    rep.line(
        "file-list enqueue", n / secs, "files/s", f"{n} files, 1 call; " + cpu_note(h, cpu0, c0, n)
    )

    def probe() -> tuple[int, bool]:
        st, _ = api.call("GET", f"{W}/jobs/{job['id']}")
        return st["num_done"], st["status"] in TERMINAL

    h.start_workers(args.workers)
    cpu0 = h.cpu()
    secs, counted = drain(probe, n, 0.25)
    rep.line(
        "file-list drain",
        counted / secs if secs > 0 else float("nan"),
        "files/s",
        f"{n} files; " + cpu_note(h, cpu0, None, n),
    )
    api.close()


def directory(stack: ExitStack, args: argparse.Namespace, rep: Report) -> None:
    n = args.files
    h = Haul(stack, args.db, n, None)
    h.worker_args = args.worker_args.split()
    h.start_workers(args.workers)
    time.sleep(3)  # let the workers start polling
    api = h.api()
    cpu0 = h.cpu()
    t0 = time.perf_counter()
    job, _ = api.call(
        "POST",
        f"{W}/copy",
        {
            "src_siteid": h.many,
            "dst_siteid": h.dst,
            "src_filepath": "/",
            "dst_filepath": "/dir",
            "extra_opts": {"checksum": "none"},
        },
    )
    while True:
        st, _ = api.call("GET", f"{W}/jobs/{job['id']}")
        if st["status"] in TERMINAL:
            break
        time.sleep(0.25)
    secs = time.perf_counter() - t0
    if st["num_done"] != st["num_elements"]:
        raise RuntimeError(f"directory job {st['status']}: {st['num_done']}/{st['num_elements']}")
    rep.line(
        "directory drain",
        st["num_done"] / secs,
        "elements/s",
        f"{st['num_done']} elements, submit to DONE; " + cpu_note(h, cpu0, None, st["num_done"]),
    )
    api.close()


# (figure, PgQueuer figure, target on SQLite, target on PostgreSQL), from issue 13.
TARGETS = [
    ("per-job enqueue", "enqueue", 1.0, 0.7),
    ("per-job drain", "drain", 1.0, 0.7),
    ("per-job drain (claimed)", "drain", 1.0, 0.7),
    ("file-list enqueue", "enqueue", 10.0, 10.0),
    ("file-list drain", "drain", 2.0, 2.0),
    ("directory drain", "drain", 2.0, 1.5),
]


def peer(args: argparse.Namespace) -> dict[str, float]:
    import pgqueuer_peer

    print(f"PgQueuer ({pgqueuer_peer.version()}), {args.jobs} jobs, 2 consumers:", flush=True)
    with pgqueuer_peer.throwaway_database(args.peer_pg) as dsn:
        r = pgqueuer_peer.run(dsn, args.jobs)
    print(
        f"  {'enqueue':<22} {r.enqueue_rate:>9.0f} {'jobs/s':<11} "
        f"{r.n} calls, 1 client; client CPU {r.enqueue_cpu_s:.2f} s "
        f"({1e6 * r.enqueue_cpu_s / r.n:.0f} us each)"
    )
    print(f"  {'drain':<22} {r.drain_rate:>9.0f} {'jobs/s':<11} {r.n} jobs")
    return {"enqueue": r.enqueue_rate, "drain": r.drain_rate}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    ap.add_argument("--jobs", type=int, default=2000, help="per-job mode and PgQueuer")
    ap.add_argument("--files", type=int, default=10_000, help="file-list and directory modes")
    ap.add_argument("--clients", type=int, default=1, help="also enqueue from K concurrent clients")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--worker-args", default="", help="more `haul worker` options (default: none)"
    )
    ap.add_argument("--db", default=None, help="PostgreSQL URL for haul (default: SQLite)")
    ap.add_argument("--peers", nargs="*", choices=["pgqueuer"], default=[])
    ap.add_argument("--peer-pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--server-pid-file", default=None)
    ap.add_argument("--pause-before-enqueue", type=float, default=0)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    backend = "PostgreSQL" if args.db else "SQLite"
    print(
        f"haul on {backend}, {args.workers} workers (default settings), {platform.machine()}, "
        f"{os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    rep = Report()
    for mode in args.modes:
        with ExitStack() as stack:  # a fresh server and database per mode
            {"per-job": per_job, "file-list": file_list, "directory": directory}[mode](
                stack, args, rep
            )
    if "pgqueuer" not in args.peers:
        return
    theirs = peer(args)
    print(f"ratios to PgQueuer (targets of issue 13 on {backend}):")
    for key, their_key, t_sqlite, t_pg in TARGETS:
        if key in rep.figures:
            ratio, target = rep.figures[key] / theirs[their_key], t_pg if args.db else t_sqlite
            mark = "met" if ratio >= target else "NOT met"
            print(f"  {key:<22} {ratio:>6.2f}x  (target >= {target}x: {mark})")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
