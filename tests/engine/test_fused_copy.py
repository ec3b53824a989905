"""A one-file COPY copied in its LIST's lease (services/fused_copy.py, worker/fused_copy.py).

Real servers (SQLite and PostgreSQL) and real worker processes. Every job runs
twice, once by a worker that fuses the copy into the LIST's lease and once by
one that does not (``--fuse-max-bytes -1``, the old path), and the job, its
elements and their outputs must read the same, apart from ids, times and
names. Element 0 stays the LIST that seed 000 shows for a path job.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.engine.helpers import (
    WORKER,
    WQ,
    claim,
    claimed_elements,
    elements,
    fresh_server,
    running_workers,
    submit,
    wait_job,
)
from tests.harness import ServerProcess, User

PLAIN = ["--fuse-max-bytes", "-1"]
# Volatile values: ids, times, rates, random names.
_DROP = {
    "id",
    "job_id",
    "jobid",
    "timestamp",
    "log_uid",
    "rate",
    "eta_seconds",
    "src_siteid",
    "dst_siteid",
    "user_id",
}
_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d ", re.M)
_SITE = re.compile(r"site-[0-9a-f]{8}")
_JOB_REF = re.compile(r"element \d+\.(\d+)")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def srv(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    work = tmp_path_factory.mktemp(f"fused-{request.param}")
    args = ["--backoff-base", "0.2", "--backoff-cap", "0.2"]
    with fresh_server(request.param, work, args) as server:
        yield server


@pytest.fixture(scope="module")
def token(srv: ServerProcess) -> str:
    return srv.new_worker()


@pytest.fixture
def user(srv: ServerProcess) -> User:
    return srv.new_user()


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in _DROP}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str):
        return _JOB_REF.sub(r"element J.\1", _SITE.sub("SITE", _STAMP.sub("", value)))
    return value


def _views(c: httpx.Client, job_id: int) -> dict[str, Any]:
    out = c.get(f"{WQ}/jobs/{job_id}/output")
    assert out.status_code == 200, out.text
    attempts = [
        c.get(f"{WQ}/jobs/{job_id}/elements/{e['id']}/output/{n}").json()
        for e in elements(c, job_id)
        for n in range(1, e["attempts"] + 1)
    ]
    return {
        "job": c.get(f"{WQ}/jobs/{job_id}").json(),
        "elements": elements(c, job_id),
        "output": out.json(),
        "attempts": attempts,
    }


def _run_both(
    srv: ServerProcess, user: User, token: str, tmp_path: Path, body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The job's views as a fusing worker leaves them, then as the old path does."""
    views = []
    with user.client() as c:
        for extra in ([], PLAIN):
            with running_workers(srv, tmp_path, token=token, extra_args=extra) as ws:
                job_id = submit(c, **body)
                wait_job(c, job_id, workers=ws)
                views.append(_views(c, job_id))
    return views[0], views[1]


def _sites(user: User, src_query: str) -> tuple[int, int]:
    return user.site(endpoints=[f"dummy://fsrc/{src_query}"]), user.site(
        endpoints=["dummy://fdst/"]
    )


def test_a_one_file_copy_is_copied_in_its_lists_lease_and_reads_as_before(
    srv: ServerProcess, user: User, token: str, tmp_path: Path
) -> None:
    src, dst = _sites(user, "?files=1&size=4096")
    body = {
        "type": "COPY",
        "src_siteid": src,
        "dst_siteid": dst,
        "src_filepath": "/file-00000.dat",
        "dst_filepath": "/out/one.dat",
    }
    fused, plain = _run_both(srv, user, token, tmp_path, body)
    assert fused["job"]["status"] == "DONE"
    assert _clean(fused) == _clean(plain)
    e0, e1 = fused["elements"]
    # Element 0 is the LIST of seed 000; element 1 the file, DONE at the first try.
    assert (e0["id"], e0["type"], e0["status"], e0["attempts"]) == (0, "LIST", "DONE", 1)
    assert e0["listing"] == {
        "/": [
            {
                "name": "file-00000.dat",
                "size": 4096,
                "is_dir": False,
                "mtime": e0["listing"]["/"][0]["mtime"],
            }
        ]
    }
    assert (e1["id"], e1["type"], e1["status"], e1["attempts"]) == (1, "COPY", "DONE", 1)
    assert (e1["src_filepath"], e1["dst_filepath"], e1["size"]) == (
        "/file-00000.dat",
        "/out/one.dat",
        4096,
    )
    # Written by the LIST's own report: the fused path was taken.
    assert e0["timestamp"] == e1["timestamp"]
    assert plain["elements"][0]["timestamp"] != plain["elements"][1]["timestamp"]
    assert [o["type"] for o in fused["output"]] == ["LIST", "COPY"]
    assert "copied 4096 bytes" in fused["output"][1]["log"]


def test_a_fused_copy_that_fails_is_retried_and_fails_as_before(
    srv: ServerProcess, user: User, token: str, tmp_path: Path
) -> None:
    # Every open of the source fails with CONNECTION (retryable); stat works.
    src, dst = _sites(user, "?files=1&size=100&fail_rate=1")
    body = {
        "type": "COPY",
        "src_siteid": src,
        "dst_siteid": dst,
        "src_filepath": "/file-00000.dat",
        "dst_filepath": "/out/fails.dat",
        "max_tries": 2,
    }
    fused, plain = _run_both(srv, user, token, tmp_path, body)
    assert _clean(fused) == _clean(plain)
    assert fused["job"]["status"] == "FAILED"
    e0, e1 = fused["elements"]
    assert (e0["type"], e0["status"]) == ("LIST", "DONE")
    assert (e1["status"], e1["attempts"]) == ("FAILED", 2)
    tries = [a for a in fused["attempts"] if a["elementid"] == 1]
    assert [a["status"] for a in tries] == ["FAILED", "FAILED"]
    assert all(a["error"]["code"] == "CONNECTION" for a in tries), tries
    # The first attempt ran in the LIST's lease (recorded by its report), the
    # retry on a claim of its own.
    assert tries[0]["timestamp"] == e0["timestamp"] != tries[1]["timestamp"]
    plain_first = next(a for a in plain["attempts"] if a["elementid"] == 1)
    assert plain_first["timestamp"] != plain["elements"][0]["timestamp"]


def test_a_directory_copy_is_unchanged(
    srv: ServerProcess, user: User, token: str, tmp_path: Path
) -> None:
    src, dst = _sites(user, "?files=3&size=10")
    body = {
        "type": "COPY",
        "src_siteid": src,
        "dst_siteid": dst,
        "src_filepath": "/",
        "dst_filepath": "/copied",
    }
    fused, plain = _run_both(srv, user, token, tmp_path, body)
    assert fused["job"]["status"] == "DONE"
    assert _clean(fused) == _clean(plain)
    assert [e["type"] for e in fused["elements"]] == ["LIST", "COPY", "COPY", "COPY"]


def test_the_offer_is_made_only_to_a_worker_that_may_copy(srv: ServerProcess, user: User) -> None:
    src, dst = _sites(user, "?files=1&size=10")
    with user.client() as c, srv.client(srv.new_worker()) as w:
        submit(
            c,
            type="COPY",
            src_siteid=src,
            dst_siteid=dst,
            src_filepath="/file-00000.dat",
            dst_filepath="/offer.dat",
        )
        listed = claimed_elements(claim(w, ["LIST"]))
        assert [e["type"] for e in listed] == ["LIST"]
        assert "fuse_copy" not in listed[0]
        # Given back: the lease expires; a new job shows the offer to a COPY worker.
        job_id = submit(
            c,
            type="COPY",
            src_siteid=src,
            dst_siteid=dst,
            src_filepath="/file-00000.dat",
            dst_filepath="/offer2.dat",
        )
        mine = [e for e in claimed_elements(claim(w, ["LIST", "COPY"])) if e["job_id"] == job_id]
        assert mine and mine[0]["fuse_copy"] is True
        # A LIST result with its file: element 1 is written from it, no claim needed.
        e = mine[0]
        item = {
            "jobid": job_id,
            "elementid": 0,
            "token": e["token"],
            "returncode": 0,
            "host": "here",
            "log": "listed",
            "listing": {"/": [{"name": "file-00000.dat", "size": 10, "is_dir": False}]},
            "file": {
                "token": e["token"],
                "returncode": 0,
                "host": "here",
                "log": "copied",
                "bytes": 10,
                "size": 10,
            },
        }
        r = w.put(f"{WORKER}/results", json=[item])
        assert r.status_code == 200, r.text
        assert r.json()[0]["code"] == 200, r.text
        view = c.get(f"{WQ}/jobs/{job_id}").json()
        assert view["status"] == "DONE", view
        e1 = c.get(f"{WQ}/jobs/{job_id}/elements/1/output/1").json()
        assert (e1["status"], e1["log"], e1["host"]) == ("DONE", "copied", "here")


def test_a_malformed_nested_result_refuses_its_item(srv: ServerProcess, user: User) -> None:
    src, dst = _sites(user, "?files=1&size=10")
    with user.client() as c, srv.client(srv.new_worker()) as w:
        job_id = submit(
            c,
            type="COPY",
            src_siteid=src,
            dst_siteid=dst,
            src_filepath="/file-00000.dat",
            dst_filepath="/bad.dat",
        )
        mine = [e for e in claimed_elements(claim(w, ["LIST", "COPY"])) if e["job_id"] == job_id]
        e = mine[0]
        item = {
            "jobid": job_id,
            "elementid": 0,
            "token": e["token"],
            "returncode": 0,
            "listing": {"/": [{"name": "file-00000.dat", "size": 10, "is_dir": False}]},
            "file": {"token": e["token"], "returncode": 1, "error": {"scope": "NOWHERE"}},
        }
        r = w.put(f"{WORKER}/results", json=[item])
        assert r.status_code == 200, r.text
        answer = r.json()[0]
        assert answer["code"] in (400, 422), answer
        assert c.get(f"{WQ}/jobs/{job_id}/elements/0").json()["status"] != "DONE"
