"""API load: many clients polling a job's status and detail at once.

Starts a real server (SQLite, or PostgreSQL with ``--db``), creates a job,
then runs ``--clients`` concurrent pollers (asyncio tasks with one httpx
connection each, in this process; the server is another process) against
``GET /jobs/{id}/status`` and ``GET /jobs/{id}`` for ``--seconds``. Each
poller waits ``--interval`` seconds between its requests (0: as fast as the
server answers, which measures saturation rather than polling), give or
take 10%, starting at a random point of its first interval. Reports
requests/s, p50/p99/max latency and error counts per route. Run:

    .venv/bin/python bench/api_load.py --clients 100 --seconds 20

The default interval is 1 s: a poller (pdm's client, a dashboard, a script
waiting for its job) asks every second or more, so 100 of them make ~100
requests/s. With no pause (``--interval 0``) the clients are a closed loop
and latency is their number divided by the server's throughput (Little's
law), which measures saturation, not polling.

Add ``--db postgresql+psycopg://postgres@127.0.0.1:5432/test`` for PostgreSQL
(a throw-away database is created and dropped). ``--server-pid-file`` writes
the server's pid, for ``py-spy record --pid``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.proc_cpu import cpu_seconds  # noqa: E402
from tests.harness import ServerProcess, postgres_database  # noqa: E402

W = "/workqueue/api/v1.0"




class RawConnection:
    """One keep-alive HTTP/1.1 connection that sends GETs and reads whole answers.

    The load generator must cost far less than the server it measures: an
    httpx client spends about 1 ms of CPU per request, which on a 2-core
    machine competes with the server for the same cores (8 s of client CPU
    against 6 s of server CPU in a 100-client run). This is what wrk does:
    a fixed request written to the socket, the answer read by its
    Content-Length.
    """

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {self.token}\r\n\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *headers = head.decode("latin-1").split("\r\n")
        length = 0
        for h in headers:
            name, _, value = h.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def poller(
    base: str,
    token: str,
    paths: list[str],
    until: float,
    interval: float,
    measure_from: float,
    samples: dict[str, list[float]],
    codes: dict[str, Counter[str]],
    slow: list[tuple[float, float, str]],
) -> None:
    url = httpx.URL(base)
    conn = RawConnection(url.host, url.port or 80, token)
    try:
        # Real pollers are not in step: each starts at a random point of its interval.
        await asyncio.sleep(random.uniform(0, interval))
        i = 0
        while time.monotonic() < until:
            path = paths[i % len(paths)]
            i += 1
            counted = time.monotonic() >= measure_from
            start = time.perf_counter()
            try:
                code = str(await conn.get(path))
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                code = type(exc).__name__
                await conn.close()
                conn = RawConnection(url.host, url.port or 80, token)
            elapsed = time.perf_counter() - start
            # Requests started while warming up (connections, threads, the pool
            # fill) are not counted, but are paced like the rest: a warm-up run
            # closed-loop leaves a backlog that the first counted second pays for.
            if counted:
                codes[path][code] += 1
                if code == "200":
                    samples[path].append(elapsed)
                    slow.append((elapsed, start, path))
            if interval:
                await asyncio.sleep(interval * random.uniform(0.9, 1.1))
    finally:
        await conn.close()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_load(
    base: str,
    token: str,
    job_id: int,
    clients: int,
    seconds: float,
    interval: float,
    warmup: float = 0.0,
) -> tuple[dict[str, list[float]], dict[str, Counter[str]], float]:
    paths = [f"{W}/jobs/{job_id}/status", f"{W}/jobs/{job_id}"]
    samples: dict[str, list[float]] = {p: [] for p in paths}
    codes: dict[str, Counter[str]] = {p: Counter() for p in paths}
    slow: list[tuple[float, float, str]] = []
    start = time.monotonic() + warmup
    until = start + seconds
    await asyncio.gather(
        *(
            # Half the clients start on each route, so both are polled all the time.
            poller(
                base,
                token,
                paths[i % 2 :] + paths[: i % 2],
                until,
                interval,
                start,
                samples,
                codes,
                slow,
            )
            for i in range(clients)
        )
    )
    return samples, codes, slow, time.monotonic() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--interval", type=float, default=1.0, help="each poller's pause, seconds")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds not counted first")
    ap.add_argument("--files", type=int, default=0, help="give the job this many elements")
    ap.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite)")
    ap.add_argument("--server-pid-file", default=None)
    ap.add_argument("--show-slow", type=int, default=0, help="print the N slowest requests")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with ExitStack() as stack:
        home = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if args.db:
            db_url = stack.enter_context(postgres_database(args.db))
        else:
            db_url = f"sqlite+pysqlite:///{home}/haul.db"
        # HAUL_BENCH_SERVER_ARGS: extra `haul server` flags, to test a hypothesis
        # (e.g. "--reaper-seconds 3600" keeps the periodic tasks out of a run).
        extra = os.environ.get("HAUL_BENCH_SERVER_ARGS", "").split()
        srv = ServerProcess(home=home, db_url=db_url, extra_args=extra).start()
        stack.callback(srv.stop)
        assert srv.proc is not None
        if args.server_pid_file:
            Path(args.server_pid_file).write_text(str(srv.proc.pid))
        user = srv.new_user()
        src = user.site("load-src", [f"dummy://lsrc/?files={max(args.files, 1)}&size=0"])
        dst = user.site("load-dst", ["dummy://ldst/"])
        with user.client() as c:
            r = c.post(
                f"{W}/copy",
                json={
                    "src_siteid": src,
                    "src_filepath": "/",
                    "dst_siteid": dst,
                    "dst_filepath": "/",
                },
            )
            r.raise_for_status()
            job_id = r.json()["id"]
        cpu0 = cpu_seconds(srv.proc.pid)
        mine0 = time.process_time()
        samples, codes, slow, wall = uvloop.run(
            run_load(
                srv.url,
                user.token,
                job_id,
                args.clients,
                args.seconds,
                args.interval,
                args.warmup,
            )
        )
        cpu = cpu_seconds(srv.proc.pid) - cpu0
        mine = time.process_time() - mine0
        load = os.getloadavg()[0]
        print(
            f"api_load: {args.clients} clients, {args.seconds:g} s "
            f"(after {args.warmup:g} s warm-up), interval {args.interval:g} s, "
            f"db {'postgresql' if args.db else 'sqlite'}, python {platform.python_version()}, "
            f"{os.cpu_count()} cpus, load {load:.1f}; cpu: server {cpu:.1f} s, clients {mine:.1f} s"
        )
        total_ok = total_err = 0
        for path, values in samples.items():
            ok = codes[path].get("200", 0)
            errors = sum(n for code, n in codes[path].items() if code != "200")
            total_ok += ok
            total_err += errors
            mean = statistics.fmean(values) if values else float("nan")
            print(
                f"  {path}: {ok / wall:.0f} req/s ok, p50 {pct(values, 0.5) * 1000:.1f} ms, "
                f"p99 {pct(values, 0.99) * 1000:.1f} ms, max {max(values, default=0) * 1000:.1f}"
                f" ms, mean {mean * 1000:.1f} ms; errors {errors} {dict(codes[path])}"
            )
        print(f"  total: {(total_ok + total_err) / wall:.0f} req/s, {total_err} errors")
        if args.show_slow:
            # When the slowest requests started: clustered starts mean the
            # server (or this process) stalled; spread ones mean queueing.
            t0 = min((s[1] for s in slow), default=0.0)
            for elapsed, started, path in sorted(slow, reverse=True)[: args.show_slow]:
                print(f"    slow: {elapsed * 1000:7.1f} ms at +{started - t0:6.2f} s {path}")
            worst: dict[int, float] = {}
            for elapsed, started, _ in slow:
                second = int(started - t0)
                worst[second] = max(worst.get(second, 0.0), elapsed)
            line = " ".join(f"{worst.get(i, 0) * 1000:.0f}" for i in range(max(worst) + 1))
            print(f"    worst per second (ms): {line}")


if __name__ == "__main__":
    main()
