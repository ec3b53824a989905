"""Queue throughput: N zero-size dummy:// copies through one server and K workers.

Measures elements per second end to end: from submitting one COPY of a
dummy tree of N files until the job is DONE, so it includes the LIST, the
server's expansion into N elements, every claim, every copy and every
result. Run:

    .venv/bin/python bench/queue_throughput.py --elements 20000 --workers 2

Add ``--db postgresql+psycopg://postgres@127.0.0.1:5432/test`` for PostgreSQL
(a throw-away database is created and dropped).
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.proc_cpu import cpu_seconds, peak_rss_mb  # noqa: E402
from tests.harness import HAUL, ServerProcess, postgres_database  # noqa: E402


def _spy(out: Path | None, server: int, workers: list[int]) -> list[subprocess.Popen[bytes]]:
    if out is None:
        return []
    out.mkdir(parents=True, exist_ok=True)
    spy = str(Path(sys.executable).parent / "py-spy")
    targets = [(server, out / "server.txt")]
    targets += [(pid, out / f"worker-{i}.txt") for i, pid in enumerate(workers)]
    procs = [
        subprocess.Popen(
            [spy, "record", "-p", str(pid), "-f", "raw", "-o", str(path), "--gil"]
            + ["--threads", "--rate", "250", "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid, path in targets
    ]
    time.sleep(0.5)  # attached before the job starts
    return procs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--elements", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=16)
    # Zero-size copies finish in microseconds: a worker holding 2,000 leases
    # claims about 1,000 at a time, so requests, not elements, stop dominating.
    # "default" passes none: the worker's own claim-ahead rule (docs/cli.md).
    ap.add_argument("--prefetch", default="2000")
    ap.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite)")
    ap.add_argument(
        "--profile",
        type=Path,
        help="record the server and the workers with py-spy (GIL holders only, so the "
        "samples are CPU) into DIR/server.txt and DIR/worker-N.txt",
    )
    args = ap.parse_args()
    # Turn SIGTERM (e.g. from `timeout`) into an exception so the servers we started stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with ExitStack() as stack:
        home = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if args.db:
            db_url = stack.enter_context(postgres_database(args.db))
        else:
            db_url = f"sqlite+pysqlite:///{home}/haul.db"
        srv = ServerProcess(home=home, db_url=db_url).start()
        stack.callback(srv.stop)
        token = srv.new_worker("bench")
        user = srv.new_user()
        src = user.site("bench-src", [f"dummy://bsrc/?files={args.elements}&size=0"])
        dst = user.site("bench-dst", ["dummy://bdst/"])
        workers = []
        for _ in range(args.workers):
            p = subprocess.Popen(
                [
                    *HAUL,
                    "worker",
                    "--server",
                    srv.url,
                    "--token",
                    token,
                    "--concurrency",
                    str(args.concurrency),
                    *([] if args.prefetch == "default" else ["--prefetch", args.prefetch]),
                ],
                start_new_session=True,
            )
            workers.append(p)
        stack.callback(lambda: [os.killpg(p.pid, signal.SIGTERM) for p in workers])
        time.sleep(1.5)  # let the workers start polling
        # CPU from here on: start-up imports are not per-element work.
        server_cpu0 = cpu_seconds(srv.proc.pid)  # type: ignore[union-attr]
        spies = _spy(args.profile, srv.proc.pid, [p.pid for p in workers])  # type: ignore[union-attr]
        worker_cpu0 = sum(cpu_seconds(p.pid) for p in workers)
        with user.client() as c:
            t0 = time.monotonic()
            job = c.post(
                "/workqueue/api/v1.0/copy",
                json={
                    "src_siteid": src,
                    "dst_siteid": dst,
                    "src_filepath": "/",
                    "dst_filepath": "/out",
                    "extra_opts": {"checksum": "none"},
                },
            ).json()
            expanded_at = None
            while True:
                st = c.get(f"/workqueue/api/v1.0/jobs/{job['id']}").json()
                if expanded_at is None and st["num_elements"] > 1:
                    expanded_at = time.monotonic() - t0
                if st["status"] in ("DONE", "FAILED", "CANCELLED"):
                    break
                time.sleep(0.1)
            elapsed = time.monotonic() - t0
        server_cpu = cpu_seconds(srv.proc.pid) - server_cpu0  # type: ignore[union-attr]
        server_rss = peak_rss_mb(srv.proc.pid)  # type: ignore[union-attr]
        worker_rss = max(peak_rss_mb(p.pid) for p in workers)
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        worker_cpu = sum(cpu_seconds(p.pid) for p in workers) - worker_cpu0
        done = st["num_done"]
        print(f"status {st['status']}: {done}/{st['num_elements']} elements in {elapsed:.2f} s")
        print(f"listed and expanded after {expanded_at or float('nan'):.2f} s")
        print(
            f"throughput: {done / elapsed:.0f} elements/s "
            f"({'PostgreSQL' if args.db else 'SQLite'}, {args.workers} workers x "
            f"{args.concurrency} threads, {platform.machine()}, {os.cpu_count()} cores)"
        )
        print(
            f"CPU: server {server_cpu:.2f} s ({1e6 * server_cpu / done:.0f} us/element), "
            f"workers {worker_cpu:.2f} s ({1e6 * worker_cpu / done:.0f} us/element)"
        )
        print(f"peak RSS: server {server_rss:.0f} MB, largest worker {worker_rss:.0f} MB")


if __name__ == "__main__":
    main()
