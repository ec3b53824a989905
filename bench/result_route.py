"""The results route over HTTP: the server's CPU per 1,000 recorded results.

Starts a real server, submits a COPY of a ``dummy://`` tree of N files,
plays the worker itself (the LIST's result, then claims of every COPY
element), and only then, with the server's CPU counted from here, sends the
plain successes in ``PUT /worker/results`` batches of ``--batch`` over one
keep-alive connection, as a worker's reporter does. No worker process, no
claims while counting: the figure is the server's cost of the result path
itself, request handling included, for A/B runs of that code
(``PYTHONPATH=<other src>`` runs the server on other code). Run:

    .venv/bin/python bench/result_route.py --elements 5000 --batch 30
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.proc_cpu import cpu_seconds  # noqa: E402
from tests.harness import bench_server  # noqa: E402

W = "/workqueue/api/v1.0"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--elements", type=int, default=5_000)
    ap.add_argument("--batch", type=int, default=30)
    ap.add_argument("--bytes", type=int, default=65_536, help="bytes each result reports")
    ap.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with ExitStack() as stack:
        srv = bench_server(stack, args.db)
        worker = stack.enter_context(srv.client(srv.new_worker("bench")))
        user = srv.new_user()
        src = user.site("bench-src", ["dummy://rsrc/"])
        dst = user.site("bench-dst", ["dummy://rdst/"])
        with user.client() as c:
            job = c.post(
                f"{W}/copy",
                json={"src_siteid": src, "dst_siteid": dst, "src_filepath": "/d",
                      "dst_filepath": "/e", "extra_opts": {"checksum": "none"}},
            ).json()["id"]

        def claim(types: list[str], limit: int) -> list[tuple[int, int, str]]:
            r = worker.post(f"{W}/worker/jobs", json={
                "types": types, "algorithm": "BY_NUMBER", "algorithm.args": {"limit": limit},
            })
            if r.status_code == 404:
                return []
            r.raise_for_status()
            return [(e["job_id"], e["id"], e["token"]) for j in r.json() for e in j["elements"]]

        (_, _, list_token), = claim(["LIST"], 1)
        listing = {"/d": [{"name": f"f{i}", "size": args.bytes} for i in range(args.elements)]}
        r = worker.put(f"{W}/worker/results", json=[
            {"jobid": job, "elementid": 0, "token": list_token, "returncode": 0,
             "listing": listing},
        ])
        r.raise_for_status()
        leases: list[tuple[int, int, str]] = []
        while len(leases) < args.elements:
            got = claim(["COPY"], 1000)
            if not got:
                break
            leases += got
        assert len(leases) == args.elements, len(leases)
        pid = srv.proc.pid  # type: ignore[union-attr]
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        for start in range(0, len(leases), args.batch):
            body = [
                {"jobid": j, "elementid": e, "token": t, "returncode": 0, "host": "bench",
                 "bytes": args.bytes, "size": args.bytes}
                for j, e, t in leases[start : start + args.batch]
            ]
            r = worker.put(f"{W}/worker/results", json=body)
            r.raise_for_status()
            assert all(a["code"] == 200 for a in r.json()), r.text[:300]
        wall, cpu = time.monotonic() - t0, cpu_seconds(pid) - cpu0
        with user.client() as c:
            status = c.get(f"{W}/jobs/{job}").json()["status"]
        print(
            f"{args.elements} results in batches of {args.batch} "
            f"({'PostgreSQL' if args.db else 'SQLite'}), job {status}: server CPU "
            f"{1000 * cpu / args.elements:.3f} s per 1,000 results (wall {wall:.2f} s, "
            f"load {os.getloadavg()[0]:.1f})"
        )


if __name__ == "__main__":
    main()
