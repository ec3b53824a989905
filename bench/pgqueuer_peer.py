"""PgQueuer beside haul (bench/many_jobs.py --peers pgqueuer): the same N no-op jobs.

PgQueuer is the fastest Python job queue we know of, so issue 13 states
haul's many-jobs targets as ratios to it, measured in the same invocation on
the same machine. Here: a throw-away database on the local PostgreSQL, the
schema installed by PgQueuer's own CLI (`python -m pgqueuer install`), N
jobs enqueued one `Queries.enqueue` call each from one asyncpg connection,
then drained by 2 consumer processes (this file run as
``pgqueuer_peer.py consume DSN``) whose entrypoint does nothing.

Drain is timed like haul's: from the first job gone to the last, so neither
side pays for its consumers' start-up (imports, connections).
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ENTRYPOINT = "noop"


def version() -> str:
    import pgqueuer

    return f"pgqueuer {pgqueuer.__version__}, asyncpg {__import__('asyncpg').__version__}"


@contextmanager
def throwaway_database(base_url: str) -> Iterator[str]:
    """A fresh database on the PostgreSQL server of ``base_url`` (a plain postgresql:// DSN)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.harness import postgres_database

    with postgres_database(base_url) as url:
        yield url.replace("postgresql+psycopg://", "postgresql://")


@dataclass
class PeerResult:
    n: int
    enqueue_s: float
    enqueue_cpu_s: float
    drain_s: float
    drained: int

    @property
    def enqueue_rate(self) -> float:
        return self.n / self.enqueue_s

    @property
    def drain_rate(self) -> float:
        return self.drained / self.drain_s if self.drain_s > 0 else float("nan")


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def _enqueue(dsn: str, n: int) -> tuple[float, float]:
    import asyncpg
    from pgqueuer import Queries

    conn = await asyncpg.connect(dsn)
    try:
        q = Queries.from_asyncpg_connection(conn)
        cpu0, t0 = _cpu(), time.perf_counter()
        for _ in range(n):
            await q.enqueue(ENTRYPOINT, None)
        return time.perf_counter() - t0, _cpu() - cpu0
    finally:
        await conn.close()


async def _remaining(conn: object) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM pgqueuer"))  # type: ignore[attr-defined]


async def _watch_drain(
    dsn: str, n: int, consumers: list[subprocess.Popen[bytes]]
) -> tuple[float, int]:
    """Seconds from the first job gone to none left, and how many went in that window."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        first_at, left_then = None, n
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            left = await _remaining(conn)
            now = time.perf_counter()
            if first_at is None and left < n:
                first_at, left_then = now, left
            if left == 0:
                return (now - first_at if first_at else float("nan")), left_then
            if all(p.poll() is not None for p in consumers):
                raise RuntimeError(f"PgQueuer consumers exited with {left} jobs left")
            await asyncio.sleep(0.02)
        raise RuntimeError("PgQueuer drain timed out")
    finally:
        await conn.close()


def run(dsn: str, n: int, consumers: int = 2) -> PeerResult:
    env = {**os.environ, "PGDSN": dsn}
    subprocess.run(
        [sys.executable, "-m", "pgqueuer", "install"], env=env, check=True, capture_output=True
    )
    enqueue_s, enqueue_cpu = asyncio.run(_enqueue(dsn, n))
    procs = [
        subprocess.Popen([sys.executable, __file__, "consume", dsn], start_new_session=True)
        for _ in range(consumers)
    ]
    try:
        drain_s, drained = asyncio.run(_watch_drain(dsn, n, procs))
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    return PeerResult(n, enqueue_s, enqueue_cpu, drain_s, drained)


async def _consume(dsn: str) -> None:
    import asyncpg
    from pgqueuer import Queries, QueueManager
    from pgqueuer.types import QueueExecutionMode

    conn = await asyncpg.connect(dsn)
    qm = QueueManager(Queries.from_asyncpg_connection(conn))

    @qm.entrypoint(ENTRYPOINT)
    async def noop(job: object) -> None:
        return None

    await qm.run(mode=QueueExecutionMode.drain)
    await conn.close()


if __name__ == "__main__" and sys.argv[1:2] == ["consume"]:
    import uvloop

    uvloop.run(_consume(sys.argv[2]))
