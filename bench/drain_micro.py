"""A directory job's drain in process: the server's CPU per element, HTTP aside.

bench/queue_throughput.py and bench/many_jobs.py measure the drain over
HTTP with real workers, where the workers, the kernel's loopback and every
other process on the 2 cores move the server's CPU figures by +-30%. This
drives the same ASGI app (`server.app.asgi`, every middleware, uvicorn
excluded; hand-made ASGI messages as in bench/submit_micro.py) through what
two workers make it do for one COPY of an N-file dummy directory: the
submission, the LIST's claim and its result (the listing stored and
expanded into N elements), then claims of ``--claim`` elements and result
batches of ``--batch`` plain successes (the worker's own fields: host, a
five-line attempt log, bytes and size 0), until the job is done. Every
phase's process CPU is printed per element, with the best of ``--runs``
runs (the least disturbed by other processes). A real server is started
first (tests/harness) to create the accounts and sites; the app in this
process then opens the same database.

    .venv/bin/python bench/drain_micro.py --files 10000 --runs 3 [--db URL] [--profile F]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvloop  # noqa: E402

from bench.proc_cpu import cpu_seconds  # noqa: E402
from bench.submit_micro import call_route, lifespan  # noqa: E402
from haul.cli.heap import settle_heap  # noqa: E402
from haul.config import Settings  # noqa: E402
from haul.server.app import asgi  # noqa: E402
from tests.harness import bench_server  # noqa: E402

W = "/workqueue/api/v1.0"
HOST = "bench-worker.example.org"


def _log(e: dict[str, Any]) -> str:
    """An attempt log of the shape a worker sends for a zero-size dummy copy."""
    return "\n".join(
        [
            f"COPY element {e['job_id']}.{e['id']} attempt {e['attempts'] + 1} on {HOST}",
            f"source dummy://srcn{e['src_filepath']} (0 bytes)",
            f"destination dummy://dst{e['dst_filepath']}",
            "copied 0 bytes in 0.000 s",
            "done",
        ]
    )


def _result(e: dict[str, Any], listing: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "jobid": e["job_id"],
        "elementid": e["id"],
        "token": e["token"],
        "host": HOST,
        "returncode": 0,
        "log": _log(e),
    }
    if listing is not None:
        out["listing"] = listing
    else:
        out.update(bytes=0, size=0)
    return out


def _backends(db_name: str | None) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving ``db_name`` (none on SQLite):
    the database's own work per element, which shares the 2 cores with the server."""
    if db_name is None:
        return {}
    out = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if args.startswith(b"postgres: ") and f" {db_name} ".encode() in args:
            out[int(proc.name)] = cpu_seconds(int(proc.name))
    return out


class Phases:
    """Process CPU per phase (and, on PostgreSQL, its backends' CPU)."""

    db_name: str | None = None

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.db: dict[str, float] = {}
        self._db0: dict[int, float] = {}

    def start(self) -> float:
        self._db0 = _backends(self.db_name)
        return time.process_time()

    def add(self, name: str, t0: float) -> None:
        self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - t0
        if self.db_name is not None:
            now = _backends(self.db_name)
            spent = sum(v - self._db0.get(pid, 0.0) for pid, v in now.items())
            self.db[name] = self.db.get(name, 0.0) + spent


async def drain(
    app: Any, user: str, worker: str, body: dict[str, Any], files: int, claim: int, batch: int
) -> Phases:
    ph = Phases()
    t0 = ph.start()
    status, answer = await call_route(app, user, "POST", f"{W}/copy", json.dumps(body).encode())
    assert status == 200, answer
    job_id = json.loads(answer)["id"]
    ph.add("submit", t0)

    async def claim_of(types: list[str], limit: int) -> list[dict[str, Any]]:
        req = {"types": types, "algorithm": "BY_NUMBER", "algorithm.args": {"limit": limit}}
        status, answer = await call_route(
            app, worker, "POST", f"{W}/worker/jobs", json.dumps(req).encode()
        )
        if status == 404:
            return []
        assert status == 200, answer
        return [e for j in json.loads(answer) for e in j["elements"]]

    async def report(items: list[dict[str, Any]]) -> None:
        status, answer = await call_route(
            app, worker, "PUT", f"{W}/worker/results", json.dumps(items).encode()
        )
        assert status == 200, answer
        codes = {a["code"] for a in json.loads(answer)}
        assert codes == {200}, answer[:300]

    t0 = ph.start()
    (lst,) = await claim_of(["LIST"], 1)
    entries = [{"name": f"file-{i:05d}.dat", "size": 0} for i in range(files)]
    await report([_result(lst, {lst["src_filepath"]: entries})])
    ph.add("list+expand", t0)
    done = 0
    held: list[dict[str, Any]] = []
    while done < files:
        t0 = ph.start()
        got = await claim_of(["COPY"], claim)
        ph.add("claims", t0)
        assert got or held, f"nothing to claim after {done} of {files}"
        held.extend(got)
        while len(held) >= batch or (held and not got):
            part, held = held[:batch], held[batch:]
            t0 = ph.start()
            await report([_result(e) for e in part])
            ph.add("results", t0)
            done += len(part)
    t0 = ph.start()
    status, answer = await call_route(app, user, "GET", f"{W}/jobs/{job_id}")
    assert status == 200 and json.loads(answer)["status"] == "DONE", answer[:300]
    return ph


async def run(
    app: Any,
    user: str,
    worker: str,
    bodies: list[dict[str, Any]],
    files: int,
    claim: int,
    batch: int,
    profile: str | None,
) -> list[Phases]:
    inbox, task = await lifespan(app)
    settle_heap()  # as `haul server` does once started (cli/heap.py)
    out = []
    prof = cProfile.Profile() if profile else None
    for body in bodies:
        if prof:
            prof.enable()
        out.append(await drain(app, user, worker, body, files, claim, batch))
        if prof:
            prof.disable()
    if prof:
        prof.dump_stats(profile)  # type: ignore[arg-type]
    await inbox.put({"type": "lifespan.shutdown"})
    task.cancel()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--claim", type=int, default=500, help="elements per claim")
    ap.add_argument("--batch", type=int, default=500, help="results per report")
    ap.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite)")
    ap.add_argument("--profile", default=None, help="write cProfile stats of every run here")
    args = ap.parse_args()
    if args.profile:  # the routes' thread hops run inline, so cProfile sees their bodies
        from haul.server.routers import worker as routes

        async def inline(func: Any, *a: Any, **kw: Any) -> Any:
            return func(*a, **kw)

        routes.run_in_threadpool = inline  # type: ignore[assignment]
    with ExitStack() as stack:
        srv = bench_server(stack, args.db)
        home, db_url = srv.home, srv.db_url
        user = srv.new_user()
        many = user.site("many-files", [f"dummy://srcn/?files={args.files}&size=0"])
        dst = user.site("dst", ["dummy://dst/"])
        worker = srv.new_worker("bench")
        srv.stop()  # this process is the only server from here on
        bodies = [
            {
                "src_siteid": many,
                "dst_siteid": dst,
                "src_filepath": "/",
                "dst_filepath": f"/dir-{i}",
                "extra_opts": {"checksum": "none"},
            }
            for i in range(args.runs)
        ]
        if args.db:
            Phases.db_name = db_url.rpartition("/")[2]
        app = asgi(Settings(home=home, db_url=db_url))
        runs = uvloop.run(
            run(app, user.token, worker, bodies, args.files, args.claim, args.batch, args.profile)
        )
    n = args.files
    names = ["list+expand", "claims", "results"]
    print(
        f"{n}-file directory drained in process ({db_url.split(':')[0]}; claims of "
        f"{args.claim}, results in batches of {args.batch}); server CPU per element, "
        f"best of {len(runs)} runs (all runs):"
    )
    for name in names:
        per = [1e6 * r.cpu.get(name, 0.0) / n for r in runs]
        print(f"  {name:12s} {min(per):6.1f} us  ({', '.join(f'{p:.1f}' for p in per)})")
    totals = [1e6 * sum(r.cpu.get(k, 0.0) for k in names) / n for r in runs]
    print(f"  {'total':12s} {min(totals):6.1f} us  ({', '.join(f'{p:.1f}' for p in totals)})")
    if Phases.db_name is not None:
        print("PostgreSQL backends' CPU per element, best of the runs (all runs):")
        for name in [*names, "total"]:
            keys = names if name == "total" else [name]
            per = [1e6 * sum(r.db.get(k, 0.0) for k in keys) / n for r in runs]
            print(f"  {name:12s} {min(per):6.1f} us  ({', '.join(f'{p:.1f}' for p in per)})")


if __name__ == "__main__":
    main()
