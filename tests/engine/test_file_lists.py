"""Jobs that list their files (issue 13), end to end through real worker processes.

Each listed file is one element, in the order given, with no LIST; what a
file says it is (``checksum``, ``filesize``) is what its source must match,
and a file that does not match fails alone and leaves nothing at its
destination. Runs on SQLite and, with HAUL_TEST_POSTGRES_URL, PostgreSQL.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.helpers import (
    elements,
    failure_report,
    fresh_server,
    running_workers,
    submit,
    wait_job,
)
from tests.harness import ServerProcess

AWKWARD = ["plain.txt", "with space.dat", "ünïcödé €.bin", "hash#and%percent.txt", "-dash"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def setup(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, Path]]:
    work = tmp_path_factory.mktemp(f"lists-{request.param}")
    with fresh_server(request.param, work, file_root=work / "files") as srv:
        yield srv, work / "files"


def adler32(data: bytes) -> str:
    return f"adler32:{zlib.adler32(data) & 0xFFFFFFFF:08x}"


def test_a_listed_copy_checks_each_file_and_fails_only_the_one_that_differs(
    setup: tuple[ServerProcess, Path], tmp_path: Path
) -> None:
    srv, root = setup
    base = root / f"copy-{tmp_path.name}"
    (base / "in").mkdir(parents=True)
    data = {name: (name * 50).encode() for name in AWKWARD}
    for name, content in data.items():
        (base / "in" / name).write_bytes(content)
    user = srv.new_user()
    site = user.site(endpoints=[f"file://{base}"])
    files = [
        # Into several directories, none of which exists yet.
        {"src_filepath": f"/in/{name}", "dst_filepath": f"/out/d{i % 3}/{name}"}
        | ({"checksum": adler32(data[name]), "filesize": len(data[name])} if i % 2 else {})
        for i, name in enumerate(AWKWARD)
    ]
    wrong_sum = {"src_filepath": "/in/plain.txt", "dst_filepath": "/out/bad-sum",
                 "checksum": "adler32:00000001"}
    wrong_size = {"src_filepath": "/in/plain.txt", "dst_filepath": "/out/bad-size",
                  "filesize": 3}
    md5 = {"src_filepath": "/in/-dash", "dst_filepath": "/out/md5/-dash",
           "checksum": "md5:" + __import__("hashlib").md5(data["-dash"]).hexdigest()}
    files += [wrong_sum, wrong_size, md5]
    with user.client() as c, running_workers(srv, tmp_path, extra_args=["--file-root", str(root)]):
        job_id = submit(c, type="COPY", src_siteid=site, dst_siteid=site, files=files)
        view = wait_job(c, job_id, timeout=90)
        assert view["status"] == "FAILED", failure_report(c, job_id)
        assert view["src_filepath"] is None and view["num_elements"] == len(files)
        rows = elements(c, job_id)
        # One element per file, in the order given, and no LIST.
        assert [e["elementid"] if "elementid" in e else e["id"] for e in rows] == list(
            range(len(files))
        )
        assert [e["src_filepath"] for e in rows] == [f["src_filepath"] for f in files]
        status = {e["dst_filepath"]: e["status"] for e in rows}
        assert status.pop("/out/bad-sum") == "FAILED"
        assert status.pop("/out/bad-size") == "FAILED"
        assert set(status.values()) == {"DONE"}, failure_report(c, job_id)
        report = failure_report(c, job_id)
        assert "CHECKSUM_MISMATCH" in report and "SIZE_MISMATCH" in report, report
        assert "the job listed" in report, report
        out = c.get(f"/workqueue/api/v1.0/jobs/{job_id}/output").json()
        bad = [o for o in out if o["status"] == "FAILED"]
        assert all(o["error"]["scope"] == "SOURCE" for o in bad), bad
        # A mismatch is not retried: one attempt each.
        assert all(o["attempt"] in (0, 1) for o in bad), bad
    for i, name in enumerate(AWKWARD):
        assert (base / "out" / f"d{i % 3}" / name).read_bytes() == data[name]
    assert (base / "out" / "md5" / "-dash").read_bytes() == data["-dash"]
    # Nothing is published under a mismatching file's name, and no temporaries remain.
    assert not (base / "out" / "bad-sum").exists() and not (base / "out" / "bad-size").exists()
    assert not [p for p in (base / "out").rglob("*") if ".haul-part-" in p.name]


def test_a_listed_remove_removes_files_and_empty_directories_without_recursion(
    setup: tuple[ServerProcess, Path], tmp_path: Path
) -> None:
    srv, root = setup
    base = root / f"rm-{tmp_path.name}"
    (base / "empty").mkdir(parents=True)
    (base / "full").mkdir()
    (base / "full" / "keep.txt").write_text("stays")
    for name in ("a.txt", "b c.txt"):
        (base / name).write_text(name)
    user = srv.new_user()
    site = user.site(endpoints=[f"file://{base}"])
    files = [{"src_filepath": p} for p in ("/a.txt", "/b c.txt", "/empty", "/full")]
    with user.client() as c, running_workers(srv, tmp_path, extra_args=["--file-root", str(root)]):
        job_id = submit(c, type="REMOVE", src_siteid=site, files=files)
        assert wait_job(c, job_id, timeout=60)["status"] == "FAILED"
        status = {e["src_filepath"]: e["status"] for e in elements(c, job_id)}
    assert status == {"/a.txt": "DONE", "/b c.txt": "DONE", "/empty": "DONE", "/full": "FAILED"}
    assert sorted(p.name for p in base.iterdir()) == ["full"]
    assert (base / "full" / "keep.txt").read_text() == "stays"


def test_a_listed_file_falls_back_to_its_other_replicas_in_order(
    setup: tuple[ServerProcess, Path], tmp_path: Path
) -> None:
    srv, root = setup
    base = root / f"replicas-{tmp_path.name}"
    for d in ("first", "second", "third", "dst"):
        (base / d).mkdir(parents=True)
    (base / "third" / "data.bin").write_bytes(b"the good copy")
    (base / "second" / "data.bin").write_bytes(b"a different file")
    (base / "first" / "here.txt").write_text("primary has this one")
    user = srv.new_user()
    first, second, third, dst = (
        user.site(endpoints=[f"file://{base / d}"]) for d in ("first", "second", "third", "dst")
    )
    good = adler32(b"the good copy")
    files = [
        # Missing at the first site; the second has the wrong bytes; the third serves.
        {"src_filepath": "/data.bin", "dst_filepath": "/data.bin", "checksum": good,
         "sources": [{"siteid": second, "filepath": "/data.bin"},
                     {"siteid": third, "filepath": "/data.bin"}]},
        # The job's own source serves: the replicas are never touched.
        {"src_filepath": "/here.txt", "dst_filepath": "/here.txt",
         "sources": [{"siteid": third, "filepath": "/nowhere"}]},
        # Missing everywhere.
        {"src_filepath": "/gone", "dst_filepath": "/gone",
         "sources": [{"siteid": second, "filepath": "/gone-too"}]},
    ]
    with user.client() as c, running_workers(srv, tmp_path, extra_args=["--file-root", str(root)]):
        job_id = submit(c, type="COPY", src_siteid=first, dst_siteid=dst, files=files)
        assert wait_job(c, job_id, timeout=90)["status"] == "FAILED"
        out = {o["elementid"]: o for o in c.get(f"/workqueue/api/v1.0/jobs/{job_id}/output").json()}
    assert out[0]["status"] == "DONE", out[0]
    log = out[0]["log"]
    assert "trying replica 2 of 3" in log and "CHECKSUM_MISMATCH" in log, log
    assert "served by replica 3" in log, log
    assert out[1]["status"] == "DONE" and "trying replica" not in out[1]["log"], out[1]["log"]
    assert out[2]["status"] == "FAILED"
    assert out[2]["error"]["scope"] == "SOURCE"
    assert "every replica failed" in out[2]["error"]["message"], out[2]["error"]
    assert (base / "dst" / "data.bin").read_bytes() == b"the good copy"
    assert (base / "dst" / "here.txt").read_text() == "primary has this one"
    assert not (base / "dst" / "gone").exists()
