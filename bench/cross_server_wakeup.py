"""How soon a claim waiting on one server process sees work submitted through another.

Issue 13: with several server processes on one PostgreSQL, a worker
long-polls one of them; work submitted through another used to be found only
by the claim's next poll. This starts two servers on a throw-away database,
long-polls server A (the route a `haul worker` uses, `wait` 30 s) and, once
the claim has been waiting a moment, submits a one-file COPY through server
B; it prints the time from the submission's answer to the claim's, and the
claim transactions the waiting cost A (server A's CPU while idle).

    .venv/bin/python bench/cross_server_wakeup.py --rounds 20 \\
        --db postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.proc_cpu import cpu_seconds  # noqa: E402
from tests.harness import ServerProcess, postgres_database  # noqa: E402

W = "/workqueue/api/v1.0"
SETTLE_SECONDS = 0.3  # how long the claim waits before the submission


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--db", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--idle-seconds", type=float, default=5.0)
    args = ap.parse_args()
    with ExitStack() as stack:
        url = stack.enter_context(postgres_database(args.db))
        home = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        a = ServerProcess(home=home / "a", db_url=url).start()
        stack.callback(a.stop)
        b = ServerProcess(home=home / "b", db_url=url, admin_token=a.admin_token).start()
        stack.callback(b.stop)
        user = b.new_user()
        src = user.site("src", ["dummy://wake/?files=1&size=0"])
        dst = user.site("dst", ["dummy://wake-dst/"])
        worker = a.new_worker("bench")
        delays = [_round(a, user.client(), worker, src, dst) for _ in range(args.rounds)]
        idle = _idle_cpu(a, worker, args.idle_seconds)
    print(f"submission through B -> claim answered by A, {args.rounds} rounds:")
    print(
        f"  median {statistics.median(delays) * 1e3:.1f} ms, "
        f"min {min(delays) * 1e3:.1f}, max {max(delays) * 1e3:.1f}"
    )
    print(f"server A's CPU while one claim waits with nothing to do: {idle * 1e3:.1f} ms/s")


def _round(a: ServerProcess, client: object, worker: str, src: int, dst: int) -> float:
    answered: list[float] = []

    def claim() -> None:
        with a.client(worker) as c:
            r = c.post(f"{W}/worker/jobs", json={"types": ["LIST"], "wait": 30})
            answered.append(time.monotonic())
            assert r.status_code == 200, r.text

    t = threading.Thread(target=claim)
    t.start()
    time.sleep(SETTLE_SECONDS)
    with client as c:  # type: ignore[attr-defined]
        r = c.post(
            f"{W}/copy",
            json={"src_siteid": src, "dst_siteid": dst, "src_filepath": "/", "dst_filepath": "/"},
        )
        submitted = time.monotonic()
        assert r.status_code == 200, r.text
    t.join(60)
    return answered[0] - submitted


def _idle_cpu(a: ServerProcess, worker: str, seconds: float) -> float:
    def claim() -> None:
        with a.client(worker) as c:
            c.post(f"{W}/worker/jobs", json={"types": ["LIST"], "wait": seconds + 1})

    t = threading.Thread(target=claim)
    t.start()
    time.sleep(0.5)
    pid = a.proc.pid  # type: ignore[union-attr]
    before = cpu_seconds(pid)
    time.sleep(seconds)
    spent = cpu_seconds(pid) - before
    t.join(seconds + 10)
    return spent / seconds


if __name__ == "__main__":
    main()
