"""The path `make run` takes, as subprocesses: server, admin CLI, jobs over HTTP."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.harness import HAUL, ServerProcess, free_port, run_cli

W = "/workqueue/api/v1.0"


def test_server_admin_cli_and_jobs_over_http(tmp_path: Path) -> None:
    home = tmp_path / "home"
    srv = ServerProcess(home=home, db_url=f"sqlite+pysqlite:///{home}/haul.db").start()
    try:
        out = run_cli("admin", "add-user", "Quick.Start@Example.org", "--home", str(home),
                      "--db", srv.db_url)
        lines = out.stdout.strip().splitlines()
        assert "quick.start@example.org" in lines[0]
        token = lines[-1]
        assert re.fullmatch(r"haul_[A-Za-z0-9_-]{20,}", token), token
        # The same email again is refused, with a message and a non-zero exit.
        again = run_cli("admin", "add-user", "quick.start@example.org", "--home", str(home),
                        "--db", srv.db_url, check=False)
        assert again.returncode != 0 and "exists" in again.stderr

        with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {token}"},
                          timeout=30) as c:
            me = c.get("/whoami").json()
            assert me["email"] == "quick.start@example.org" and me["roles"] == ["user"]
            r = c.post("/site/api/v1.0/site", json={"site_name": "demo",
                                                    "endpoints": ["dummy://demo/"]})
            assert r.status_code == 200, r.text
            site = r.json()
            r = c.post("/site/api/v1.0/site", json={"site_name": "demo-dst",
                                                    "endpoints": ["dummy://dst/"]})
            dst = r.json()

            listing = c.post(f"{W}/list", json={"src_siteid": site, "src_filepath": "/data"})
            assert listing.status_code == 200, listing.text
            copy = c.post(f"{W}/copy", json={"src_siteid": site, "dst_siteid": dst,
                                             "src_filepath": "/data/file 1.txt",
                                             "dst_filepath": "/backup/file 1.txt"})
            assert copy.status_code == 200, copy.text
            lid, cid = listing.json()["id"], copy.json()["id"]

            got = c.get(f"{W}/jobs/{lid}").json()
            assert (got["type"], got["src_filepath"]) == ("LIST", "/data")
            got = c.get(f"{W}/jobs/{cid}").json()
            assert (got["type"], got["dst_siteid"], got["dst_filepath"]) == (
                "COPY", dst, "/backup/file 1.txt")
            jobs = c.get(f"{W}/jobs")
            assert jobs.headers["X-Total-Count"] == "2"
            assert [j["id"] for j in jobs.json()] == [cid, lid]
            assert c.get(f"{W}/jobs/{cid}/status").json()["status"] in (
                "NEW", "SUBMITTED", "RUNNING", "DONE", "FAILED")
            assert c.get(f"{W}/jobs/{cid}/elements/0").json()["type"] == "LIST"
    finally:
        srv.stop()


def _read_until(proc: subprocess.Popen[bytes], pattern: str, timeout: float) -> str:
    """Reads the process's stdout until a line matches, without blocking forever."""
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not sel.select(timeout=0.5):
            if proc.poll() is not None:
                break
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        seen += chunk
        if re.search(pattern, seen.decode(errors="replace")):
            return seen.decode(errors="replace")
    raise AssertionError(f"no {pattern!r} in haul run output:\n{seen.decode(errors='replace')}")


def test_haul_run_prints_admin_token_and_urls(tmp_path: Path) -> None:
    home = tmp_path / "runhome"
    port = free_port()
    proc = subprocess.Popen(
        [*HAUL, "run", "--home", str(home), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "HAUL_HOME": str(home)},
    )
    try:
        text = _read_until(proc, r"admin token:\s*\S+", timeout=60)
        base = f"http://127.0.0.1:{port}"
        token = re.search(r"admin token:\s*(\S+)", text).group(1)  # type: ignore[union-attr]
        assert f"{base}/web" in text, text
        assert base in text
        with httpx.Client(base_url=base, timeout=30) as c:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if c.get("/hello").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "haul run's server did not answer"
                time.sleep(0.2)
            me = c.get("/whoami", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200, me.text
            assert "admin" in me.json()["roles"]
            assert c.get("/whoami", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert (home / "haul.db").exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()
