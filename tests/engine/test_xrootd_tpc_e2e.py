"""COPY jobs between XRootD sites through a real server and worker process.

Between two TPC-enabled servers the copy is third-party, verified by the
destination as it writes (`tpc.cks`): the attempt log says so, and the
source server's read log (`ofs.trace read`, which names each
reader as `<user>.<pid>`) shows no read by the worker process. Towards a
server without TPC the worker streams, and verifies the destination by the
server's checksum query, which the attempt log records.
"""

from __future__ import annotations

import os
import subprocess
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from haul.storage import open_storage
from tests.engine.helpers import (
    WQ,
    elements,
    failure_report,
    fresh_server,
    running_workers,
    submit,
    wait_job,
)
from tests.harness import ServerProcess
from tests.servers.fixtures import StorageServer, xrootd_log

FILES = {"a.bin": 5 * 1024 * 1024 + 3, "sub/b.bin": 70_000, "sub/empty.bin": 0}


@pytest.fixture(scope="module")
def haul_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with fresh_server("sqlite", tmp_path_factory.mktemp("tpc")) as srv:
        yield srv


def _site(admin: httpx.Client, server: StorageServer) -> int:
    # Only admins may register a network site that needs no credential.
    body = {
        "site_name": f"x-{uuid.uuid4().hex[:8]}",
        "endpoints": [server.endpoint_url],
        "requires_credential": False,
        "public": True,
    }
    r = admin.post("/site/api/v1.0/site", json=body)
    assert r.status_code == 200, r.text
    return int(r.json())


def _tree(server: StorageServer) -> tuple[str, dict[str, bytes]]:
    storage = open_storage(server.endpoint_url)
    top = f"/t-{uuid.uuid4().hex[:8]}"
    data = {name: os.urandom(size) for name, size in FILES.items()}
    for name, content in data.items():
        path = f"{server.root}{top}/{name}"
        storage.mkdir(path.rsplit("/", 1)[0])
        with storage.open_write(path) as out:
            out.write(content)
    return top, data


def _copy(
    c: httpx.Client, workers: list[Any], src_site: int, top: str, dst_site: int, dst: str
) -> list[dict[str, Any]]:
    job_id = submit(
        c,
        type="COPY",
        src_siteid=src_site,
        src_filepath=top,
        dst_siteid=dst_site,
        dst_filepath=dst,
        extra_opts={"checksum": "adler32", "verify": True},
    )
    view = wait_job(c, job_id, timeout=90, workers=workers)
    assert view["status"] == "DONE", failure_report(c, job_id)
    assert len([e for e in elements(c, job_id) if e["type"] == "COPY"]) == len(FILES)
    r = c.get(f"{WQ}/jobs/{job_id}/output")
    assert r.status_code == 200, r.text
    return [o for o in r.json() if "copy " in o["log"] and o["status"] == "DONE"]


def _same(server: StorageServer, top: str, data: dict[str, bytes]) -> None:
    assert server.root is not None
    for name, content in data.items():
        assert (server.root / top.lstrip("/") / name).read_bytes() == content, name


def test_copy_between_tpc_servers_is_third_party_and_falls_back_without(
    haul_server: ServerProcess,
    xrootd_tpc_servers: tuple[StorageServer, StorageServer],
    xrootd_server: StorageServer,
    tmp_path: Path,
) -> None:
    source, destination = xrootd_tpc_servers
    top, data = _tree(source)
    user = haul_server.new_user()
    with haul_server.admin() as admin:
        src_site, tpc_site, plain_site = (
            _site(admin, s) for s in (source, destination, xrootd_server)
        )
    with running_workers(haul_server, tmp_path, n=1) as workers, user.client() as c:
        # -- both ends TPC-enabled: server to server -----------------------------
        outputs = _copy(c, workers, src_site, top, tpc_site, "/tpc")
        _same(destination, "/tpc", data)
        assert len(outputs) == len(FILES)
        for out in outputs:
            log = out["log"]
            assert "third-party copy done" in log, log
            assert "streaming" not in log, log
            # The destination checked the source's adler32 as it wrote (tpc.cks).
            assert "by the destination server as it wrote the copy (tpc.cks)" in log, log
        reads = [
            line
            for line in xrootd_log(source).read_text(errors="replace").splitlines()
            if "ofs_read" in line and top in line
        ]
        assert reads, "the destination's copy program read the source"
        worker_id = f".{workers[0].pid}:"
        assert not [line for line in reads if worker_id in line], "the worker read the source"

        # -- destination without TPC: streamed, verified by its checksum query -------
        outputs = _copy(c, workers, src_site, top, plain_site, "/streamed")
        _same(xrootd_server, "/streamed", data)
        for out in outputs:
            log = out["log"]
            assert "has no TPC enabled; streaming through the worker" in log, log
            assert "verified: adler32 by the destination's checksum, no read back" in log
            expected = [f"{zlib.adler32(content) & 0xFFFFFFFF:08x}" for content in data.values()]
            assert any(f"adler32 {value}" in log for value in expected), log


def test_copy_between_http_tpc_servers_is_third_party(
    haul_server: ServerProcess,
    xrootd_https_tpc_servers: tuple[StorageServer, StorageServer],
    tmp_path: Path,
) -> None:
    source, destination = xrootd_https_tpc_servers
    assert source.root is not None
    top = f"/h-{uuid.uuid4().hex[:8]}"
    data = {name: os.urandom(size) for name, size in FILES.items()}
    for name, content in data.items():  # on disk: XrdHttp takes no chunked PUT
        path = source.root / top.lstrip("/") / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    subprocess.run(["chown", "-R", "nobody:nogroup", str(source.root / top.lstrip("/"))])
    user = haul_server.new_user()
    with haul_server.admin() as admin:
        src_site, dst_site = (_site(admin, s) for s in (source, destination))
    env = {"SSL_CERT_FILE": str(source.ca_file)}
    with (
        running_workers(haul_server, tmp_path, n=1, env=env) as workers,
        user.client() as c,
    ):
        outputs = _copy(c, workers, src_site, top, dst_site, "/http-tpc")
    _same(destination, "/http-tpc", data)
    assert len(outputs) == len(FILES)
    for out in outputs:
        assert "third-party copy done" in out["log"], out["log"]
        assert "streaming" not in out["log"], out["log"]
