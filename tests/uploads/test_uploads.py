"""Small uploads: size limit, use as a COPY source, and retention of unused ones."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import ServerProcess

WQ = "/workqueue/api/v1.0"


@pytest.fixture(scope="module")
def srv(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server that forgets unreferenced uploads after 2 s (the reaper runs every 0.5 s)."""
    if db_url.startswith("postgresql"):
        from tests.harness import postgres_database

        base = db_url.rpartition("/")[0] + "/test"
        with postgres_database(base) as url:
            yield from _serve(url, tmp_path_factory)
    else:
        yield from _serve(
            f"sqlite+pysqlite:///{tmp_path_factory.mktemp('up')}/h.db", tmp_path_factory
        )


def _serve(url: str, tmp: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(
        home=tmp.mktemp("uphome"),
        db_url=url,
        extra_args=["--upload-retention-seconds", "2", "--reaper-seconds", "0.5",
                    "--housekeeping-seconds", "0.5"],
    )
    server.start()
    yield server
    server.stop()


def test_upload_size_limit_and_metadata(srv: ServerProcess) -> None:
    user = srv.new_user()
    with user.client() as c:
        r = c.post(f"{WQ}/files", params={"name": "a.txt"}, content=b"hello")
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["size"] == 5 and body["adler32"] == "062c0215"
        assert c.get(f"{WQ}/files/{body['id']}").json()["name"] == "a.txt"
        r = c.post(f"{WQ}/files", files={"file": ("b.bin", b"x" * 1000)})
        assert r.status_code == 201 and r.json()["size"] == 1000
        assert c.post(f"{WQ}/files", content=b"x" * 10_000_001).status_code == 413
    other = srv.new_user()
    with other.client() as c:
        assert c.get(f"{WQ}/files/{body['id']}").status_code == 404


def test_unreferenced_uploads_expire_and_referenced_ones_stay(
    srv: ServerProcess, tmp_path: Path
) -> None:
    user = srv.new_user()
    with srv.admin() as a:
        r = a.post(
            "/site/api/v1.0/site",
            json={
                "site_name": f"dst-{tmp_path.name}",
                "public": True,
                "endpoints": [f"file://{tmp_path}"],
            },
        )
        dst = int(r.json())
    with user.client() as c:
        unused = c.post(f"{WQ}/files", content=b"unused").json()["id"]
        used = c.post(f"{WQ}/files", content=b"used").json()["id"]
        job = c.post(
            f"{WQ}/copy",
            json={
                "src_siteid": "upload",
                "src_filepath": used,
                "dst_siteid": dst,
                "dst_filepath": "/u.txt",
            },
        )
        assert job.status_code == 200, job.text
        deadline = time.monotonic() + 20
        while c.get(f"{WQ}/files/{unused}").status_code != 404:
            assert time.monotonic() < deadline, "unreferenced upload was never deleted"
            time.sleep(0.5)
        assert c.get(f"{WQ}/files/{used}").status_code == 200
        # A COPY may only name the caller's own uploads.
    with srv.new_user().client() as c:
        r = c.post(
            f"{WQ}/copy",
            json={
                "src_siteid": "upload",
                "src_filepath": used,
                "dst_siteid": dst,
                "dst_filepath": "/v.txt",
            },
        )
        assert r.status_code == 404
