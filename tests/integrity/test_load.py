"""Point 20: 100 clients polling at once get answers (200, or 503 with Retry-After), never a
500, and the server stops on SIGTERM while they poll.

Before: the handlers' threads waited for pool connections held by requests
that waited for a thread to serialise their answer; every request waited
30 s and most ended as 500s, and SIGTERM did not stop the server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import ServerProcess, User, fresh_database
from tests.integration.api import W
from tests.own_loop import run_on_own_thread

CLIENTS = 100


@pytest.fixture()
def polled(db_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, User, int]]:
    with fresh_database(db_url, tmp_path) as url:
        srv = ServerProcess(home=tmp_path, db_url=url, extra_args=["--grace-seconds", "3"])
        srv.start()
        try:
            user = srv.new_user()
            src = user.site(endpoints=["dummy://load-src/"])
            dst = user.site(endpoints=["dummy://load-dst/"])
            with user.client() as c:
                r = c.post(f"{W}/copy", json={"src_siteid": src, "src_filepath": "/",
                                             "dst_siteid": dst, "dst_filepath": "/"})
                assert r.status_code == 200, r.text
            yield srv, user, r.json()["id"]
        finally:
            srv.stop()


async def _poll_once_each(base: str, token: str, paths: list[str]) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=60,
        limits=httpx.Limits(max_connections=CLIENTS),
    ) as client:
        return await asyncio.gather(*(client.get(p) for p in paths))


def test_a_hundred_concurrent_polls_get_no_500(polled: tuple[ServerProcess, User, int]) -> None:
    srv, user, job_id = polled
    paths = [f"{W}/jobs/{job_id}/status", f"{W}/jobs/{job_id}"] * (CLIENTS // 2)
    codes: Counter[int] = Counter()
    for _ in range(3):
        for r in run_on_own_thread(_poll_once_each(srv.url, user.token, paths)):
            codes[r.status_code] += 1
            assert r.status_code in (200, 503), r.text
            if r.status_code == 503:
                assert int(r.headers["Retry-After"]) >= 1
            elif r.url.path.endswith("/status"):
                assert r.json() == {"jobid": job_id, "status": "NEW"}
    assert sum(codes.values()) == 3 * CLIENTS


def test_sigterm_stops_the_server_while_clients_poll(
    polled: tuple[ServerProcess, User, int],
) -> None:
    srv, user, job_id = polled
    assert srv.proc is not None
    stop = threading.Event()
    seen: Counter[str] = Counter()

    async def poll_until_stopped() -> None:
        headers = {"Authorization": f"Bearer {user.token}"}
        async with httpx.AsyncClient(base_url=srv.url, headers=headers, timeout=30) as client:

            async def one() -> None:
                while not stop.is_set():
                    try:
                        r = await client.get(f"{W}/jobs/{job_id}/status")
                        seen[str(r.status_code)] += 1
                    except httpx.HTTPError:
                        seen["closed"] += 1
                        await asyncio.sleep(0.05)

            await asyncio.gather(*(one() for _ in range(CLIENTS)))

    pollers = threading.Thread(target=lambda: asyncio.run(poll_until_stopped()))
    pollers.start()
    try:
        deadline = time.monotonic() + 30
        while seen["200"] < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(srv.proc.pid, signal.SIGTERM)
        # --grace-seconds 3: open requests get 3 s, then the server goes.
        srv.proc.wait(20)
    finally:
        stop.set()
        pollers.join(60)
    assert seen["200"] >= 200
    assert "500" not in seen, seen
