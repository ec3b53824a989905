"""The server's result path in process: CPU and SQL statements per recorded element.

Leases ``--elements`` COPY elements of one job (written straight into a
fresh, migrated database), then records plain successes for them in batches
of ``--batch`` through ``reports.record_results`` (with ``--route``, also
the route's metrics and worker activity), one write transaction per batch
as the results route does. Prints the process CPU per 1,000 elements
and the statements per batch. No HTTP, no worker: this isolates what the
server's own result code costs, for A/B runs of that code. Run:

    .venv/bin/python bench/result_path.py --elements 20000 --batch 30

Add ``--db postgresql+psycopg://postgres@127.0.0.1:5432/test`` for PostgreSQL
(a throw-away database is created and dropped).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, insert  # noqa: E402

from haul.domain.enums import JobStatus, JobType  # noqa: E402
from haul.server.metrics import Metrics  # noqa: E402
from haul.services.reports import Policy, Recorded, Result, record_results  # noqa: E402
from haul.store.clock import utcnow  # noqa: E402
from haul.store.database import Database  # noqa: E402
from haul.store.migrate import upgrade  # noqa: E402
from haul.store.tables import Element, Job, User  # noqa: E402
from tests.harness import postgres_database  # noqa: E402

try:
    from haul.server import work_hooks as observe  # noqa: E402
except ImportError:  # older code (A/B runs with PYTHONPATH=<its src>): hooks in metrics.py
    from haul.server import metrics as observe  # type: ignore[no-redef]  # noqa: E402


def _setup(db: Database, n: int) -> list[tuple[int, int, str]]:
    now = utcnow()
    with db.write() as s:
        user = User(email="bench@example.org", role="user")
        s.add(user)
        s.flush()
        job = Job(user_id=user.id, type=int(JobType.COPY), protocol=0, log_uid="bench")
        s.add(job)
        s.flush()
        rows = [
            {
                "job_id": job.id, "id": i, "user_id": user.id, "type": int(JobType.COPY),
                "status": int(JobStatus.SUBMITTED), "src_filepath": f"/s/f{i}",
                "dst_filepath": f"/d/f{i}", "size": 0, "lease_token": f"tok.{i}",
                "lease_expires": now, "worker_id": 1, "started": now, "timestamp": now,
            }
            for i in range(1, n + 1)
        ]
        s.execute(insert(Element.__table__), rows)
        return [(job.id, i, f"tok.{i}") for i in range(1, n + 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--elements", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=30)
    ap.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite)")
    ap.add_argument("--profile", type=int, default=0, help="print cProfile's top N of the loop")
    ap.add_argument("--sort", default="tottime", help="cProfile's order (tottime, cumulative)")
    ap.add_argument(
        "--route",
        action="store_true",
        help="also the route's bookkeeping after recording (metrics, worker activity)",
    )
    args = ap.parse_args()
    with ExitStack() as stack:
        home = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = stack.enter_context(postgres_database(args.db)) if args.db else (
            f"sqlite+pysqlite:///{home}/haul.db"
        )
        db = Database.connect(url)
        stack.callback(db.dispose)
        upgrade(db)
        leases = _setup(db, args.elements)
        statements: Counter[str] = Counter()

        @event.listens_for(db.engine, "before_cursor_execute")
        def _count(conn: Any, cursor: Any, sql: str, *_: Any) -> None:
            statements[sql.split(None, 1)[0].upper()] += 1

        policy = Policy()
        state = SimpleNamespace(metrics=Metrics(db))
        request: Any = SimpleNamespace(app=SimpleNamespace(state=state))
        with db.write() as s:
            worker = User(email="bench-worker@example.org", role="worker")
            s.add(worker)
        batches = 0
        profile = cProfile.Profile() if args.profile else None
        if profile is not None:
            profile.enable()
        t0, c0 = time.perf_counter(), time.process_time()
        for start in range(0, len(leases), args.batch):
            part = leases[start : start + args.batch]
            results = [
                Result(job_id=j, element_id=e, token=t, returncode=0, host="bench", bytes=65536)
                for j, e, t in part
            ]
            with db.write() as s:
                recorded = Recorded()
                answers = record_results(s, results, policy, recorded)
                if args.route:
                    # Older code (A/B runs with PYTHONPATH=<its src>) has no job rows.
                    jobs = getattr(recorded, "jobs", None)
                    extra = {"job_facts": jobs} if jobs is not None else {}
                    observe.results(request, s, worker, results, answers, recorded.rows, **extra)
            assert all(a["code"] == 200 for a in answers), answers[:3]
            batches += 1
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        if profile is not None:
            profile.disable()
            pstats.Stats(profile).sort_stats(args.sort).print_stats(args.profile)
        per = {k: round(v / batches, 2) for k, v in sorted(statements.items())}
        print(
            f"{args.elements} elements in batches of {args.batch} "
            f"({'PostgreSQL' if args.db else 'SQLite'}): "
            f"CPU {1000 * cpu / args.elements * 1000:.0f} ms per 1,000 elements "
            f"(wall {wall:.2f} s); statements per batch {sum(per.values()):.2f} {per}"
        )


if __name__ == "__main__":
    main()
