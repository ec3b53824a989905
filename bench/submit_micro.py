"""One-call submissions in process: the server's CPU per POST /copy, HTTP aside.

bench/many_jobs.py measures the per-job enqueue over HTTP, where the kernel's
loopback and the client share the 2 cores; this drives the same ASGI app
(`server.app.asgi`, every middleware included, uvicorn excluded) with
hand-made ASGI messages, so a change's CPU per submission shows without that
noise, and `--profile` runs it under cProfile. A real server is started first
(tests/harness) to create the user, the token and the dummy sites; the app in
this process opens the same database.

    .venv/bin/python bench/submit_micro.py --calls 3000 [--profile out.pstats] [--db URL]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvloop  # noqa: E402

from haul.config import Settings  # noqa: E402
from haul.server.app import asgi  # noqa: E402
from tests.harness import bench_server  # noqa: E402

ROUTE = "/workqueue/api/v1.0/copy"
BATCH = 100


async def call(app: Any, token: str, body: bytes) -> tuple[int, bytes]:
    return await call_route(app, token, "POST", ROUTE, body)


async def call_route(
    app: Any, token: str, method: str, path: str, body: bytes = b""
) -> tuple[int, bytes]:
    """One request through the ASGI app (bench/drain_micro.py uses it too)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0
    out: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            out.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(out)


async def lifespan(app: Any) -> tuple[asyncio.Queue[Any], asyncio.Task[Any]]:
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    outbox: asyncio.Queue[Any] = asyncio.Queue()
    task = asyncio.ensure_future(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started
    return inbox, task


async def run(app: Any, token: str, bodies: list[bytes], profile: str | None) -> list[float]:
    inbox, task = await lifespan(app)
    for b in bodies[:50]:  # warm-up: statement caches, imports
        status, answer = await call(app, token, b)
        assert status == 200, answer
    prof = cProfile.Profile() if profile else None
    if prof:
        prof.enable()
    batches: list[float] = []  # CPU per call of each batch of BATCH calls
    rest = bodies[50:]
    for start in range(0, len(rest), BATCH):
        t0 = time.process_time()
        for b in rest[start : start + BATCH]:
            status, answer = await call(app, token, b)
            assert status == 200, answer
        batches.append((time.process_time() - t0) / len(rest[start : start + BATCH]))
    if prof:
        prof.disable()
        prof.dump_stats(profile)
    await inbox.put({"type": "lifespan.shutdown"})
    task.cancel()
    return batches


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite)")
    ap.add_argument("--profile", default=None, help="write cProfile stats here")
    ap.add_argument(
        "--inline",
        action="store_true",
        help="run the route's thread hop inline (to price the hop, and so that "
        "--profile sees the handler's body)",
    )
    args = ap.parse_args()
    if args.inline:
        from haul.server import threaded

        async def inline(func: Any, *a: Any, **kw: Any) -> Any:
            return func(*a, **kw)

        class Inline:
            async def run(self, func: Any, *a: Any) -> Any:
                return func(*a)

        threaded.run_in_threadpool = inline  # type: ignore[assignment]
        threaded.HOP = Inline()  # type: ignore[attr-defined]  # (older trees: anyio's hop)
    with ExitStack() as stack:
        srv = bench_server(stack, args.db)
        home, db_url = srv.home, srv.db_url
        user = srv.new_user()
        one = user.site("one-file", ["dummy://src1/?files=1&size=0"])
        dst = user.site("dst", ["dummy://dst/"])
        srv.stop()  # this process is the only server from here on
        bodies = [
            json.dumps(
                {
                    "src_siteid": one,
                    "dst_siteid": dst,
                    "src_filepath": "/file-00000.dat",
                    "dst_filepath": f"/per-job/{i:06d}.dat",
                    "extra_opts": {"checksum": "none"},
                }
            ).encode()
            for i in range(args.calls + 50)
        ]
        app = asgi(Settings(home=home, db_url=db_url))
        # uvicorn runs on uvloop when it is installed (it is: the SFTP loop uses it).
        batches = uvloop.run(run(app, user.token, bodies, args.profile))
        n = len(bodies) - 50
        print(
            f"{n} submissions in process, CPU per call: best batch {1e6 * min(batches):.0f} us,"
            f" median {1e6 * statistics.median(batches):.0f} us ({db_url.split(':')[0]};"
            f" batches of {BATCH}; the best batch is the least disturbed by other processes)"
        )


if __name__ == "__main__":
    main()
