"""Data safety against real processes: links, file roots, retries, temporaries, odd names.

One server (short leases, a fast reaper, a short backoff) and real worker
processes confined with ``--file-root``; every tree is made of real files
and checked on disk afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.engine.helpers import (
    WORKER,
    WQ,
    WorkerProcess,
    attempt_output,
    claim,
    claimed_elements,
    element,
    elements,
    failure_report,
    fast_recovery_args,
    fresh_server,
    running_workers,
    start_worker,
    submit,
    wait_for,
    wait_job,
)
from tests.harness import ServerProcess, User

ARGS = fast_recovery_args()


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("safety")


@pytest.fixture(scope="module")
def srv(work: Path) -> Iterator[ServerProcess]:
    with fresh_server("sqlite", work, ARGS, file_root=work / "files") as server:
        yield server


@pytest.fixture(scope="module")
def root(work: Path) -> Path:
    return work / "files"


@pytest.fixture(scope="module")
def outside(work: Path) -> Path:
    """Somebody else's directory: outside the worker's file root."""
    path = work / "outside"
    path.mkdir(exist_ok=True)
    (path / "secret.txt").write_text("not yours")
    return path


@pytest.fixture(scope="module")
def token(srv: ServerProcess) -> str:
    return srv.new_worker()


@pytest.fixture
def user(srv: ServerProcess) -> User:
    return srv.new_user()


def worker_args(root: Path, *more: str) -> list[str]:
    return ["--file-root", str(root), *more]


def log_of(c: httpx.Client, job_id: int, element_id: int = 0) -> str:
    return str(attempt_output(c, job_id, element_id, -1)["log"])


# -- 1. symbolic links ------------------------------------------------------------------


def test_links_are_listed_as_links_removed_themselves_and_skipped_by_copy(
    srv: ServerProcess, user: User, token: str, root: Path, tmp_path: Path
) -> None:
    base = root / "links"
    (base / "proj" / "sub").mkdir(parents=True)
    (base / "proj" / "a.txt").write_text("a")
    (base / "proj" / "sub" / "b.txt").write_text("b")
    (base / "team").mkdir()
    (base / "team" / "keep.txt").write_text("the other user's file")
    (base / "proj" / "shared").symlink_to(base / "team")
    (base / "proj" / "alias.txt").symlink_to(base / "team" / "keep.txt")
    site = user.site(endpoints=[f"file://{base}"])
    with (
        user.client() as c,
        running_workers(srv, tmp_path, token=token, extra_args=worker_args(root)) as workers,
    ):
        listed = submit(
            c, type="LIST", src_siteid=site, src_filepath="/proj", extra_opts={"depth": 0}
        )
        assert wait_job(c, listed, workers=workers)["status"] == "DONE"
        rows = {e["name"]: e for e in element(c, listed, 0)["listing"]["/proj"]}
        assert rows["shared"]["is_link"] is True and rows["shared"]["is_dir"] is False
        assert rows["alias.txt"]["is_link"] is True
        assert not rows["sub"].get("is_link")

        copied = submit(
            c,
            type="COPY",
            src_siteid=site,
            src_filepath="/proj",
            dst_siteid=site,
            dst_filepath="/out",
        )
        assert wait_job(c, copied, workers=workers)["status"] == "DONE", failure_report(c, copied)
        assert sorted(p.name for p in (base / "out").iterdir()) == ["a.txt", "sub"]
        text = log_of(c, copied)
        assert f"skipped symlink shared -> {base / 'team'}" in text, text
        assert "skipped symlink alias.txt" in text, text

        followed = submit(
            c,
            type="COPY",
            src_siteid=site,
            src_filepath="/proj",
            dst_siteid=site,
            dst_filepath="/out2",
            extra_opts={"follow_links": True},
        )
        view = wait_job(c, followed, workers=workers)
        assert view["status"] == "DONE", failure_report(c, followed)
        assert (base / "out2" / "shared" / "keep.txt").read_text() == "the other user's file"
        assert (base / "out2" / "alias.txt").read_text() == "the other user's file"
        assert not (base / "out2" / "shared").is_symlink()

        removed = submit(c, type="REMOVE", src_siteid=site, src_filepath="/proj")
        view = wait_job(c, removed, workers=workers)
        assert view["status"] == "DONE", failure_report(c, removed)
    assert not (base / "proj").exists() and not (base / "proj").is_symlink()
    assert (base / "team" / "keep.txt").read_text() == "the other user's file"


def test_follow_links_never_loops_and_remove_of_a_link_unlinks_it(
    srv: ServerProcess, user: User, token: str, root: Path, tmp_path: Path
) -> None:
    base = root / "loops"
    (base / "tree" / "d").mkdir(parents=True)
    (base / "tree" / "d" / "f.txt").write_text("f")
    (base / "tree" / "d" / "up").symlink_to(base / "tree")  # a loop
    (base / "elsewhere").mkdir()
    (base / "elsewhere" / "x.txt").write_text("x")
    (base / "named").symlink_to(base / "elsewhere")
    site = user.site(endpoints=[f"file://{base}"])
    with (
        user.client() as c,
        running_workers(srv, tmp_path, token=token, extra_args=worker_args(root)) as workers,
    ):
        copied = submit(
            c,
            type="COPY",
            src_siteid=site,
            src_filepath="/tree",
            dst_siteid=site,
            dst_filepath="/copy",
            extra_opts={"follow_links": True},
        )
        assert wait_job(c, copied, workers=workers)["status"] == "DONE", failure_report(c, copied)
        assert "skipped symlink d/up" in log_of(c, copied)
        assert sorted(str(p.relative_to(base / "copy")) for p in (base / "copy").rglob("*")) == [
            "d",
            "d/f.txt",
        ]
        # A REMOVE naming a link removes the link, not what it points to.
        removed = submit(c, type="REMOVE", src_siteid=site, src_filepath="/named")
        assert wait_job(c, removed, workers=workers)["status"] == "DONE"
    assert not (base / "named").is_symlink()
    assert (base / "elsewhere" / "x.txt").read_text() == "x"


# -- 2. the file root, links resolved ---------------------------------------------------


def test_links_out_of_the_file_root_are_refused(
    srv: ServerProcess,
    user: User,
    token: str,
    root: Path,
    outside: Path,
    tmp_path: Path,
) -> None:
    base = root / "contain"
    (base / "dir").mkdir(parents=True)
    (base / "dir" / "ok.txt").write_text("ok")
    (base / "dir" / "leak.txt").symlink_to(outside / "secret.txt")
    (base / "exit").symlink_to(outside)
    (base / "mine.txt").write_text("mine")
    site = user.site(endpoints=[f"file://{base}"])
    with user.client() as c, srv.client(token) as w:
        # A COPY element whose source is a link out of the root (the LIST is
        # answered here, as a worker that saw a plain file would).
        job_id = submit(
            c,
            type="COPY",
            src_siteid=site,
            src_filepath="/dir/leak.txt",
            dst_siteid=site,
            dst_filepath="/stolen.txt",
            max_tries=1,
        )
        (lease,) = claimed_elements(claim(w, ["LIST"], limit=1, lease_seconds=60))
        r = w.put(
            f"{WORKER}/jobs/{job_id}/elements/0",
            json={
                "token": lease["token"],
                "returncode": 0,
                "listing": {"/dir": [{"name": "leak.txt", "size": 9, "is_dir": False}]},
            },
        )
        assert r.status_code == 200, r.text
        renamed = submit(
            c,
            type="RENAME",
            src_siteid=site,
            src_filepath="/mine.txt",
            dst_filepath="/exit/mine.txt",
            max_tries=1,
        )
        followed = submit(
            c,
            type="COPY",
            src_siteid=site,
            src_filepath="/dir",
            dst_siteid=site,
            dst_filepath="/out",
            extra_opts={"follow_links": True},
        )
        with running_workers(srv, tmp_path, token=token, extra_args=worker_args(root)) as workers:
            assert wait_job(c, job_id, workers=workers)["status"] == "FAILED"
            err = attempt_output(c, job_id, 1, 1)["error"]
            assert (err["code"], err["scope"]) == ("PERMISSION_DENIED", "SOURCE"), err
            assert "outside this worker's --file-root" in err["message"]

            assert wait_job(c, renamed, workers=workers)["status"] == "FAILED"
            bad = [e for e in elements(c, renamed) if e["status"] == "FAILED"]
            err = attempt_output(c, renamed, bad[0]["id"], 1)["error"]
            assert err["code"] == "PERMISSION_DENIED", err

            view = wait_job(c, followed, workers=workers)
            assert view["status"] == "DONE", failure_report(c, followed)
            assert "skipped symlink leak.txt" in log_of(c, followed)
    assert not (base / "stolen.txt").exists()
    assert (base / "mine.txt").read_text() == "mine"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert sorted(p.name for p in (base / "out").iterdir()) == ["ok.txt"]


# -- 3 and 4. killed workers: retries recognise their own copies, sweep temporaries ----

N_FILES = 1000


def test_three_workers_killed_during_a_1000_file_copy(
    srv: ServerProcess, user: User, token: str, root: Path, tmp_path: Path
) -> None:
    src = root / "many-src"
    src.mkdir()
    for i in range(N_FILES):
        (src / f"f{i:04d}.dat").write_bytes(f"file {i}\n".encode() * (1 + i % 7))
    dst = root / "many-dst"
    dst.mkdir()
    src_site = user.site(endpoints=[f"file://{src}"])
    dst_site = user.site(endpoints=[f"file://{dst}"])
    args = worker_args(root)
    with user.client() as c:
        job_id = submit(
            c,
            type="COPY",
            src_siteid=src_site,
            src_filepath="/",
            dst_siteid=dst_site,
            dst_filepath="/",
            max_tries=6,
        )
        # The killed workers claim no more than they run: a worker holding
        # hundreds of leases ahead reports them in one batch after the reaper
        # returns them, and num_done jumps past the next target to DONE
        # between two polls (seen on a quiet machine). Stranded claimed-ahead
        # leases are tests/engine/test_claim_ahead.py's.
        for kill in (1, 2, 3):
            w = start_worker(
                srv, token, tmp_path, concurrency=4, extra_args=[*args, "--prefetch", "0"]
            )
            try:
                target = 200 * kill

                def progressed(target: int = target, w: WorkerProcess = w) -> bool:
                    view = c.get(f"{WQ}/jobs/{job_id}").json()
                    assert view["status"] != "DONE", "the copy ended before the kill"
                    if view["num_done"] < target:
                        return False
                    # Kill when files are published whose results the server has
                    # not seen yet (num_done counts the LIST too): the retry of
                    # such a file is what must end DONE, not EXISTS. Judged with
                    # the worker stopped, so no report lands between the look and
                    # the kill (seen: a look, a report, then a kill with nothing
                    # left to retry).
                    w.kill(signal.SIGSTOP)
                    view = c.get(f"{WQ}/jobs/{job_id}").json()
                    published = sum(1 for n in os.listdir(dst) if not n.startswith("."))
                    if published > view["num_done"] - 1:
                        return True
                    w.kill(signal.SIGCONT)
                    return False

                wait_for(f"{target} elements done", progressed, timeout=60, interval=0.05)
                w.kill()  # SIGKILL, mid-copy: some files published, their results unsent
                w.proc.wait(5)
            finally:
                w.stop()
        with running_workers(srv, tmp_path, token=token, concurrency=4, extra_args=args) as ws:
            view = wait_job(c, job_id, timeout=120, workers=ws)
        assert view["status"] == "DONE", failure_report(c, job_id)
        els = elements(c, job_id)
        assert len(els) == N_FILES + 1
        assert any(e["attempts"] > 1 for e in els), "no element was retried"
    for i in range(N_FILES):
        assert (dst / f"f{i:04d}.dat").read_bytes() == (src / f"f{i:04d}.dat").read_bytes()
    assert [p.name for p in dst.rglob(".*haul-part-*")] == []
    assert sorted(p.name for p in dst.iterdir()) == sorted(p.name for p in src.iterdir())


# -- 5. names that are not UTF-8, reports that cannot be sent, SIGTERM ------------------


def test_non_utf8_names_are_skipped_per_entry_and_the_worker_stays_well(
    srv: ServerProcess, user: User, token: str, root: Path, tmp_path: Path
) -> None:
    base = root / "names"
    (base / "dir").mkdir(parents=True)
    (base / "dir" / "plain.txt").write_text("plain")
    odd = os.path.join(os.fsencode(base / "dir"), b"caf\xe9.txt")
    with open(odd, "wb") as f:
        f.write(b"latin-1")
    site = user.site(endpoints=[f"file://{base}"])
    with user.client() as c:
        w = start_worker(srv, token, tmp_path, extra_args=worker_args(root))
        try:
            copied = submit(
                c,
                type="COPY",
                src_siteid=site,
                src_filepath="/dir",
                dst_siteid=site,
                dst_filepath="/out",
            )
            view = wait_job(c, copied, workers=[w])
            assert view["status"] == "DONE", failure_report(c, copied)
            assert "skipped caf\\xe9.txt: the name is not valid UTF-8" in log_of(c, copied)
            assert os.listdir(base / "out") == ["plain.txt"]

            removed = submit(c, type="REMOVE", src_siteid=site, src_filepath="/dir", max_tries=1)
            assert wait_job(c, removed, workers=[w])["status"] == "FAILED"
            by_path = {e["src_filepath"]: e for e in elements(c, removed)}
            assert by_path["/dir/plain.txt"]["status"] == "DONE"
            err = attempt_output(c, removed, by_path["/dir"]["id"], 1)["error"]
            assert err["code"] == "NOT_EMPTY" and "caf\\xe9.txt" in err["message"], err

            after = submit(c, type="LIST", src_siteid=site, src_filepath="/out")
            assert wait_job(c, after, workers=[w])["status"] == "DONE"
            assert w.alive()
            w.kill(signal.SIGTERM)
            w.proc.wait(15)  # a bound, not a timing: a wedged worker never exits
        finally:
            w.stop()
    assert os.path.exists(odd)


def test_sigterm_ends_the_grace_period_and_hands_back_the_element(
    srv: ServerProcess, user: User, token: str, tmp_path: Path
) -> None:
    src = user.site(endpoints=["dummy://grace/?files=1&size=50000000&speed=1000000"])
    dst = user.site(endpoints=["dummy://grace-dst/"])
    with user.client() as c:
        job_id = submit(
            c,
            type="COPY",
            src_siteid=src,
            src_filepath="/file-00000.dat",
            dst_siteid=dst,
            dst_filepath="/f",
            max_tries=3,
        )
        w = start_worker(srv, token, tmp_path, extra_args=["--grace-seconds", "1"])
        try:
            wait_for(
                "the copy to run",
                lambda: len(els := elements(c, job_id)) > 1 and els[1]["status"] == "RUNNING",
                timeout=30,
            )
            w.kill(signal.SIGTERM)
            try:
                w.proc.wait(20)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the worker ignored SIGTERM:\n{w.log_text()}")
            assert w.proc.returncode == 0, w.log_text()
        finally:
            w.stop()
        out = attempt_output(c, job_id, 1, 1)
        assert out["error"]["code"] == "LOST" and out["error"]["retryable"], out
        e = element(c, job_id, 1)
        assert (e["status"], e["attempts"]) == ("NEW", 1), e


def test_a_result_that_cannot_be_encoded_fails_only_its_element(
    srv: ServerProcess, user: User, token: str, tmp_path: Path
) -> None:
    with srv.admin() as a:
        for name in ("oddresult", "goodresult"):
            r = a.post(f"{WQ}/job-types", json={"name": name, "version": "1"})
            assert r.status_code in (200, 201, 409), r.text
    handlers = [
        "--handler",
        "oddresult=tests.engine.safety_handlers:lone_surrogate",
        "--handler",
        "goodresult=tests.jobtypes.handlers:echo",
    ]
    with user.client() as c, running_workers(srv, tmp_path, token=token, extra_args=handlers) as ws:
        odd = submit(c, type="oddresult", request={}, max_tries=1)
        good = submit(c, type="goodresult", request={"n": 1})
        assert wait_job(c, odd, workers=ws)["status"] == "FAILED"
        out: dict[str, Any] = attempt_output(c, odd, 0, 1)
        assert out["error"]["code"] == "INVALID", out
        assert "could not encode" in out["error"]["message"]
        assert "caf\\udce9" in out["log"], out["log"]
        assert wait_job(c, good, workers=ws)["status"] == "DONE"
        assert all(w.alive() for w in ws)
