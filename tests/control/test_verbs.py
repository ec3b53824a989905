"""Control verbs over HTTP: every verb from every job state, permissions, and running work.

The state matrix uses a ScriptedWorker to hold elements SUBMITTED or RUNNING
deterministically; the tests at the end run real worker processes on
``dummy://`` and ``file://`` sites where running work matters (cancel, soft
finish, pause/resume, retry, reactivate, recover). Runs on SQLite and
PostgreSQL, with a server of its own per module (tests/control/conftest.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.control.helpers import (
    STATES,
    TERMINAL,
    JobMaker,
    Made,
    W,
    Worker,
    cancelled_error,
    get_elements,
    get_job,
    ok,
    part_files,
    snapshot,
    submit,
    unique,
    wait_for,
    wait_status,
)
from tests.engine.helpers import WorkerProcess, running_workers
from tests.harness import ServerProcess, User

LEASED_STATES = {"SUBMITTED", "RUNNING"}
ACTIVE_STATES = {"NEW", "SUBMITTED", "RUNNING", "PAUSED"}


@dataclass(frozen=True)
class Verb:
    method: str
    path: str  # appended to /jobs/{id}
    body: dict[str, Any] | None
    allowed: frozenset[str]
    admin: bool = False


VERBS: dict[str, Verb] = {
    "cancel": Verb("POST", "/cancel", None, frozenset(ACTIVE_STATES)),
    "kill": Verb("POST", "/kill", None, frozenset(ACTIVE_STATES)),
    "finish_soft": Verb("POST", "/finish", {"soft": True}, frozenset(ACTIVE_STATES)),
    "finish_hard": Verb("POST", "/finish", {"soft": False}, frozenset(ACTIVE_STATES)),
    "retry": Verb(
        "POST", "/retry", {"new_params": {"max_tries": 3, "priority": 2}},
        frozenset({"FAILED", "CANCELLED"}),
    ),
    "pause": Verb("POST", "/pause", None, frozenset({"NEW", "SUBMITTED", "RUNNING"})),
    "resume": Verb("POST", "/resume", None, frozenset({"PAUSED"})),
    "reactivate": Verb("POST", "/reactivate", None, frozenset(TERMINAL), admin=True),
    "delete": Verb("DELETE", "", None, frozenset(TERMINAL)),
    "kill_elements": Verb("POST", "/elements/cancel", {"ids": [0]}, frozenset(ACTIVE_STATES)),
    "command": Verb(
        "POST", "/elements/0/command", {"command": "renice 5"}, frozenset(LEASED_STATES),
        admin=True,
    ),
    # Recover checks COPY jobs only; the matrix's LIST jobs meet the type guard (409).
    "recover": Verb("POST", "/recover", {"dry_run": True}, frozenset()),
}


def call(c: httpx.Client, verb: Verb, job_id: int) -> httpx.Response:
    return c.request(verb.method, f"{W}/jobs/{job_id}{verb.path}", json=verb.body)


def end_cancelled(maker: JobMaker, made: Made) -> None:
    """The worker holding element 0 hears ``cancel`` in its heartbeat and reports back."""
    assert made.lease is not None
    beat = maker.worker.heartbeat(made.job_id, 0, made.lease, transferred=1)
    assert beat["command"] == "cancel", beat
    r = maker.worker.report(made.job_id, 0, made.lease, 1, error=cancelled_error())
    assert r.status_code == 200, r.text
    made.lease = None


def element0(c: httpx.Client, job_id: int) -> dict[str, Any]:
    return ok(c.get(f"{W}/jobs/{job_id}/elements/0"))


def check_effect(name: str, state: str, maker: JobMaker, made: Made, body: Any) -> None:
    """The effect of an allowed verb, followed through to the job's end where it has one."""
    jid = made.job_id
    c = maker.oc
    if name in ("cancel", "kill", "finish_hard", "kill_elements"):
        if state in LEASED_STATES:
            # Running work is not yanked: the element stays leased until the worker reports.
            assert element0(c, jid)["status"] == state
            assert get_job(c, jid)["status"] == state
            end_cancelled(maker, made)
        assert element0(c, jid)["status"] == "CANCELLED"
        assert get_job(c, jid)["status"] == "CANCELLED"
        if name == "kill_elements":
            leased = state in LEASED_STATES
            assert (body["cancelled"], body["signalled"]) == (int(not leased), int(leased))
    elif name == "finish_soft":
        if state in LEASED_STATES:
            assert made.lease is not None
            beat = maker.worker.heartbeat(jid, 0, made.lease, transferred=1)
            assert beat["command"] is None, "a soft finish lets running elements complete"
            maker.worker.succeed(jid, 0, made.lease, listing={"/data": []})
            made.lease = None
            assert get_job(c, jid)["status"] == "DONE"
        else:
            assert body["status"] == "CANCELLED"
            assert element0(c, jid)["status"] == "CANCELLED"
    elif name == "retry":
        assert body["status"] == "NEW"
        assert body["priority"] == 2
        e = element0(c, jid)
        assert (e["status"], e["attempts"], e["max_tries"]) == ("NEW", 0, 3)
    elif name == "pause":
        assert body["status"] == "PAUSED"
        if state in LEASED_STATES:
            assert made.lease is not None
            beat = maker.worker.heartbeat(jid, 0, made.lease, transferred=1)
            assert beat["command"] is None, "pause lets running elements finish"
            maker.worker.succeed(jid, 0, made.lease, listing={"/data": []})
            made.lease = None
            assert get_job(c, jid)["status"] == "DONE"
        else:
            assert maker.worker.claim_elements(["LIST"]) == {}, "a paused job was leased"
    elif name == "resume":
        assert body["status"] == "NEW"
        leases = maker.worker.claim_elements(["LIST"])
        assert list(leases) == [(jid, 0)], "a resumed job is claimable again"
        made.lease = leases[(jid, 0)]
    elif name == "reactivate":
        assert body["status"] == "NEW"
        e = element0(c, jid)
        assert (e["status"], e["attempts"]) == ("NEW", 0)
    elif name == "delete":
        assert body == {"jobid": jid, "deleted": True}
        assert c.get(f"{W}/jobs/{jid}").status_code == 404
    elif name == "command":
        assert body["queued"] is True
        assert made.lease is not None
        beat = maker.worker.heartbeat(jid, 0, made.lease, transferred=1)
        assert beat["command"] == "renice 5"
        again = maker.worker.heartbeat(jid, 0, made.lease, transferred=2)
        assert again["command"] is None, "a command is delivered once"
    else:  # pragma: no cover - every verb in VERBS is handled above
        raise AssertionError(name)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("name", list(VERBS))
def test_verb_from_state(maker: JobMaker, ac: httpx.Client, name: str, state: str) -> None:
    verb = VERBS[name]
    made = maker.make(state)
    oc = maker.oc
    before = snapshot(oc, made.job_id)
    element_status = before["elements"][0][1]
    r = call(ac if verb.admin else oc, verb, made.job_id)
    if state in verb.allowed:
        assert r.status_code == 200, r.text
        check_effect(name, state, maker, made, r.json())
        return
    if name == "kill_elements":
        # Elements already terminal: nothing to kill, and nothing changes.
        if r.status_code == 200:
            assert (r.json()["cancelled"], r.json()["signalled"]) == (0, 0)
        else:
            assert r.status_code == 409, r.text
            assert state in r.json()["detail"], r.text
    else:
        assert r.status_code == 409, r.text
        detail = r.json()["detail"]
        if name == "command":
            assert element_status in detail, detail
        elif name == "recover":
            assert "LIST" in detail, detail
        else:
            assert state in detail, detail
    assert snapshot(oc, made.job_id) == before


@pytest.mark.parametrize("state", ["NEW", "RUNNING", "PAUSED", "CANCELLED"])
def test_recover_needs_a_done_or_failed_copy_job(
    scripted: Worker, owner: User, oc: httpx.Client, state: str
) -> None:
    a = owner.site(endpoints=["dummy://reca/"])
    b = owner.site(endpoints=["dummy://recb/"])
    c = oc
    jid = submit(c, type="COPY", src_siteid=a, src_filepath="/f", dst_siteid=b,
                 dst_filepath="/g")
    lease = None
    if state == "RUNNING":
        lease = scripted.claim_elements(["LIST"])[(jid, 0)]
        scripted.heartbeat(jid, 0, lease)
    elif state == "PAUSED":
        ok(c.post(f"{W}/jobs/{jid}/pause"))
    elif state == "CANCELLED":
        ok(c.post(f"{W}/jobs/{jid}/cancel"))
    before = snapshot(c, jid)
    assert before["job"]["status"] == state
    for dry in (True, False):
        r = c.post(f"{W}/jobs/{jid}/recover", json={"dry_run": dry})
        assert r.status_code == 409, r.text
        assert state in r.json()["detail"]
    assert snapshot(c, jid) == before
    assert c.get(f"{W}/jobs/{jid}/recover").status_code == 404
    if state not in TERMINAL:
        ok(c.post(f"{W}/jobs/{jid}/cancel"))
    if lease is not None:
        scripted.report(jid, 0, lease, 1, error=cancelled_error())
    assert get_job(c, jid)["status"] == "CANCELLED"


def test_verbs_on_unknown_job_are_404(oc: httpx.Client, ac: httpx.Client) -> None:
    for name, verb in VERBS.items():
        r = call(ac if verb.admin else oc, verb, 987_654_321)
        assert r.status_code == 404, (name, r.text)


# -------------------------------------------------------------------- permissions

# A state from which each verb is allowed, for the owner/other/admin checks.
ALLOWED_FROM = {
    "cancel": "NEW", "kill": "NEW", "finish_soft": "NEW", "finish_hard": "NEW",
    "retry": "FAILED", "pause": "NEW", "resume": "PAUSED", "reactivate": "DONE",
    "delete": "DONE", "kill_elements": "NEW", "command": "RUNNING", "recover": "DONE",
}


@pytest.mark.parametrize("name", list(VERBS))
def test_permissions_owner_other_admin(
    maker: JobMaker, xc: httpx.Client, ac: httpx.Client, name: str
) -> None:
    verb = VERBS[name]
    made = maker.make(ALLOWED_FROM[name])
    oc = maker.oc
    before = snapshot(oc, made.job_id)
    r = call(xc, verb, made.job_id)
    if verb.admin:
        assert r.status_code == 403, r.text
        r = call(oc, verb, made.job_id)
        assert r.status_code == 403, f"the owner is not an admin either: {r.text}"
    else:
        assert r.status_code == 404, f"another user's job must look missing: {r.text}"
    assert snapshot(oc, made.job_id) == before
    if name == "recover":
        # The matrix's jobs are LIST jobs: the admin passes the owner check and meets
        # the type guard (COPY recover is covered by the worker tests below).
        r = call(ac, verb, made.job_id)
        assert r.status_code == 409 and "LIST" in r.json()["detail"], r.text
        return
    r = call(ac, verb, made.job_id)
    assert r.status_code == 200, f"an admin may {name} anyone's job: {r.text}"
    check_effect(name, ALLOWED_FROM[name], maker, made, r.json())


def test_bad_bodies(maker: JobMaker, ac: httpx.Client) -> None:
    failed = maker.make("FAILED")
    running = maker.make("RUNNING")
    oc = maker.oc
    before = snapshot(oc, failed.job_id)
    for params in ({"max_tries": 0}, {"priority": 10}, {"src_filepath": "/x"}):
        r = oc.post(f"{W}/jobs/{failed.job_id}/retry", json={"new_params": params})
        assert r.status_code == 400, r.text
    assert snapshot(oc, failed.job_id) == before
    long = ac.post(f"{W}/jobs/{running.job_id}/elements/0/command", json={"command": "x" * 251})
    assert long.status_code in (400, 422), long.text
    r = ac.post(f"{W}/jobs/{running.job_id}/elements/0/command", json={"command": "y" * 250})
    assert r.status_code == 200, r.text
    r = oc.post(f"{W}/jobs/{running.job_id}/elements/cancel", json={"ids": [0, 7]})
    assert r.status_code == 404, r.text
    assert get_job(oc, running.job_id)["status"] == "RUNNING"


# ------------------------------------------------------------ with real workers


@pytest.fixture
def workers(
    srv: ServerProcess, worker_token: str, tmp_path: Path
) -> Iterator[list[WorkerProcess]]:
    with running_workers(
        srv, tmp_path / "logs", n=1, token=worker_token, concurrency=4, heartbeat_seconds=1
    ) as procs:
        yield procs


def _two_workers(srv: ServerProcess, token: str, tmp_path: Path) -> Any:
    # --prefetch 0: these tests need elements that no worker holds yet ("queued"
    # on the server) beside running ones; by default a worker would lease them
    # ahead, and leased elements count as running for pause and finish.
    return running_workers(
        srv, tmp_path / "logs", n=1, token=token, concurrency=2, heartbeat_seconds=1,
        extra_args=["--prefetch", "0"],
    )


def copies(c: httpx.Client, jid: int) -> list[dict[str, Any]]:
    return [e for e in get_elements(c, jid) if e["type"] == "COPY"]


def logs(procs: list[WorkerProcess]) -> str:
    return "\n".join(p.log_text() for p in procs)


def test_cancel_while_elements_run_ends_them_cancelled_without_part_files(
    srv: ServerProcess, owner: User, file_root: Path, workers: list[WorkerProcess]
) -> None:
    dst_dir = file_root / unique("cancel")
    dst_dir.mkdir()
    src = owner.site(endpoints=["dummy://slowc/?files=3&size=50000000&speed=5000000"])
    dst = owner.site(endpoints=[f"file://{dst_dir}"])
    with owner.client() as c:
        jid = submit(c, type="COPY", src_siteid=src, src_filepath="/", dst_siteid=dst,
                     dst_filepath="/out")

        def all_copying() -> bool:
            els = copies(c, jid)
            return len(els) == 3 and all(
                e["status"] == "RUNNING" and (e["progress"] or {}).get("transferred", 0) > 0
                for e in els
            )

        wait_for("three copies under way", all_copying, timeout=30)
        assert part_files(dst_dir), "the copies should be writing temporary files"
        body = ok(c.post(f"{W}/jobs/{jid}/cancel"))
        assert body["status"] in ("RUNNING", "CANCELLED")
        # A few heartbeat intervals (1 s) for the workers to hear it and report back.
        job = wait_status(c, jid, TERMINAL, timeout=8)
        assert job["status"] == "CANCELLED", logs(workers)
        assert {e["status"] for e in copies(c, jid)} == {"CANCELLED"}
        assert job["num_cancelled"] == 3 and job["num_done"] == 1  # the LIST was done
        wait_for("temporary files to be removed", lambda: not part_files(dst_dir), timeout=5)
        assert not [p for p in dst_dir.rglob("*") if p.is_file()], "no file was finished"
        r = c.post(f"{W}/jobs/{jid}/cancel")
        assert r.status_code == 409 and "CANCELLED" in r.json()["detail"]


def test_soft_finish_lets_running_elements_complete_and_cancels_the_queue(
    srv: ServerProcess, owner: User, worker_token: str, file_root: Path, tmp_path: Path
) -> None:
    dst_dir = file_root / unique("finish")
    dst_dir.mkdir()
    src = owner.site(endpoints=["dummy://slowf/?files=4&size=12000000&speed=4000000"])
    dst = owner.site(endpoints=[f"file://{dst_dir}"])
    with owner.client() as c, _two_workers(srv, worker_token, tmp_path) as procs:
        jid = submit(c, type="COPY", src_siteid=src, src_filepath="/", dst_siteid=dst,
                     dst_filepath="/")

        def two_running() -> list[int] | None:
            els = copies(c, jid)
            run = [e["id"] for e in els if e["status"] == "RUNNING"]
            queued = [e for e in els if e["status"] == "NEW"]
            return run if len(els) == 4 and len(run) == 2 and len(queued) == 2 else None

        wait_for("two copies running, two queued", two_running, timeout=30)
        body = ok(c.post(f"{W}/jobs/{jid}/finish", json={"soft": True}))
        assert body["status"] == "RUNNING"
        after = {e["id"]: e["status"] for e in copies(c, jid)}
        running = sorted(i for i, s in after.items() if s in ("RUNNING", "SUBMITTED"))
        queued = sorted(i for i, s in after.items() if s == "CANCELLED")
        assert len(running) == 2 and len(queued) == 2, after
        job = wait_status(c, jid, TERMINAL, timeout=20)
        final = {e["id"]: e["status"] for e in copies(c, jid)}
        assert [final[i] for i in running] == ["DONE", "DONE"], logs(procs)
        assert [final[i] for i in queued] == ["CANCELLED", "CANCELLED"]
        # By completeness: nothing failed, some were cut short.
        assert job["status"] == "CANCELLED"
        assert len([p for p in dst_dir.iterdir() if p.is_file()]) == 2
        assert not part_files(dst_dir)


def test_pause_stops_new_leases_running_elements_finish_and_resume_continues(
    srv: ServerProcess, owner: User, worker_token: str, tmp_path: Path
) -> None:
    src = owner.site(endpoints=["dummy://slowp/?files=4&size=8000000&speed=4000000"])
    dst = owner.site(endpoints=["dummy://slowpdst/"])
    with owner.client() as c, _two_workers(srv, worker_token, tmp_path) as procs:
        jid = submit(c, type="COPY", src_siteid=src, src_filepath="/", dst_siteid=dst,
                     dst_filepath="/")

        def two_running() -> bool:
            els = copies(c, jid)
            return len(els) == 4 and sum(e["status"] == "RUNNING" for e in els) == 2

        wait_for("two copies running", two_running, timeout=30)
        assert ok(c.post(f"{W}/jobs/{jid}/pause"))["status"] == "PAUSED"
        at_pause = {e["id"]: e["status"] for e in copies(c, jid)}
        running = [i for i, s in at_pause.items() if s in ("RUNNING", "SUBMITTED")]
        queued = [i for i, s in at_pause.items() if s == "NEW"]
        assert len(running) == 2 and len(queued) == 2, at_pause

        def running_finished() -> bool:
            now = {e["id"]: e for e in copies(c, jid)}
            return all(now[i]["status"] == "DONE" for i in running)

        wait_for("the running copies to finish", running_finished, timeout=15)
        time.sleep(2.5)  # idle workers poll every ~1 s: time enough to lease, were it allowed
        now = {e["id"]: e for e in copies(c, jid)}
        assert all((now[i]["status"], now[i]["attempts"]) == ("NEW", 0) for i in queued), now
        assert get_job(c, jid)["status"] == "PAUSED"
        r = c.post(f"{W}/jobs/{jid}/pause")
        assert r.status_code == 409 and "PAUSED" in r.json()["detail"]
        ok(c.post(f"{W}/jobs/{jid}/resume"))
        job = wait_status(c, jid, TERMINAL, timeout=20)
        assert job["status"] == "DONE", logs(procs)
        assert job["num_done"] == 5
        r = c.post(f"{W}/jobs/{jid}/resume")
        assert r.status_code == 409 and "DONE" in r.json()["detail"]


def test_retry_after_failures_recur_then_succeed_once_the_source_exists(
    srv: ServerProcess, owner: User, file_root: Path, workers: list[WorkerProcess]
) -> None:
    # (a) A failure that is still there: the retry fails again, with the new budget.
    src = owner.site(endpoints=["dummy://failp/?files=2&size=1000&fail_path=file-00001"])
    sink = owner.site(endpoints=["dummy://failpdst/"])
    # (b) A source that only appears after the first failure: the retry succeeds.
    src_dir = file_root / unique("late-src")
    dst_dir = file_root / unique("late-dst")
    src_dir.mkdir()
    dst_dir.mkdir()
    fsrc = owner.site(endpoints=[f"file://{src_dir}"])
    fdst = owner.site(endpoints=[f"file://{dst_dir}"])
    with owner.client() as c:
        a = submit(c, type="COPY", src_siteid=src, src_filepath="/", dst_siteid=sink,
                   dst_filepath="/", max_tries=1)
        b = submit(c, type="COPY", src_siteid=fsrc, src_filepath="/late.dat", dst_siteid=fdst,
                   dst_filepath="/late.dat", max_tries=1)
        ja = wait_status(c, a, TERMINAL)
        assert (ja["status"], ja["num_done"], ja["num_failed"]) == ("FAILED", 2, 1), logs(workers)
        jb = wait_status(c, b, TERMINAL)
        assert jb["status"] == "FAILED", logs(workers)

        # The retry re-queues only what failed, with a fresh budget of three tries.
        (src_dir / "late.dat").write_bytes(b"arrived late\n" * 1000)
        ra = ok(c.post(f"{W}/jobs/{a}/retry", json={"new_params": {"max_tries": 3}}))
        assert ra["status"] == "SUBMITTED"  # progress was made: the LIST and one copy
        ok(c.post(f"{W}/jobs/{b}/retry", json={"new_params": {"max_tries": 3}}))
        ja = wait_status(c, a, TERMINAL)
        assert (ja["status"], ja["num_done"], ja["num_failed"]) == ("FAILED", 2, 1)
        bad = [e for e in get_elements(c, a) if e["status"] == "FAILED"]
        assert [e["src_filepath"] for e in bad] == ["/file-00001.dat"]
        assert bad[0]["max_tries"] == 3 and bad[0]["attempts"] == 1  # NOT_FOUND is final
        out = ok(c.get(f"{W}/jobs/{a}/elements/{bad[0]['id']}/output/-1"))
        assert out["attempt"] == 2 and out["error"]["code"] == "NOT_FOUND"
        jb = wait_status(c, b, TERMINAL)
        assert jb["status"] == "DONE", logs(workers)
        assert (dst_dir / "late.dat").read_bytes() == (src_dir / "late.dat").read_bytes()
        r = c.post(f"{W}/jobs/{b}/retry")
        assert r.status_code == 409 and "DONE" in r.json()["detail"]


def _file_copy_job(owner: User, file_root: Path, tag: str, names: list[str]
                   ) -> tuple[int, Path, Path]:
    src_dir = file_root / unique(f"{tag}-src")
    dst_dir = file_root / unique(f"{tag}-dst")
    src_dir.mkdir()
    dst_dir.mkdir()
    for i, n in enumerate(names):
        (src_dir / n).write_bytes(bytes([65 + i]) * (10_000 + i))
    src = owner.site(endpoints=[f"file://{src_dir}"])
    dst = owner.site(endpoints=[f"file://{dst_dir}"])
    with owner.client() as c:
        jid = submit(c, type="COPY", src_siteid=src, src_filepath="/", dst_siteid=dst,
                     dst_filepath="/")
    return jid, src_dir, dst_dir


def test_reactivate_after_done_runs_every_element_again(
    srv: ServerProcess, owner: User, file_root: Path, workers: list[WorkerProcess]
) -> None:
    names = ["one.dat", "two.dat"]
    jid, src_dir, dst_dir = _file_copy_job(owner, file_root, "react", names)
    with owner.client() as c, srv.admin() as ac:
        assert wait_status(c, jid, TERMINAL)["status"] == "DONE", logs(workers)
        for n in names:
            (dst_dir / n).unlink()
        r = c.post(f"{W}/jobs/{jid}/reactivate")
        assert r.status_code == 403, r.text
        body = ok(ac.post(f"{W}/jobs/{jid}/reactivate"))
        assert body["status"] == "NEW"
        # Idle workers are woken by the reactivation, so elements may already be
        # running or even done again; none may still count its earlier attempt
        # (a leased element counts the try under way: 1).
        states = {(e["status"], e["attempts"]) for e in get_elements(c, jid)}
        assert states <= {("NEW", 0), ("SUBMITTED", 1), ("RUNNING", 1), ("DONE", 1)}, states
        assert wait_status(c, jid, TERMINAL)["status"] == "DONE", logs(workers)
        for n in names:
            assert (dst_dir / n).read_bytes() == (src_dir / n).read_bytes()
        for e in get_elements(c, jid):
            out = ok(c.get(f"{W}/jobs/{jid}/elements/{e['id']}/output/-1"))
            assert out["attempt"] == 2 and out["status"] == "DONE", (e, out)


def test_recover_requeues_deleted_or_altered_destinations_and_dry_run_only_lists(
    srv: ServerProcess, owner: User, file_root: Path, workers: list[WorkerProcess]
) -> None:
    names = ["a.dat", "b.dat", "c.dat"]
    jid, src_dir, dst_dir = _file_copy_job(owner, file_root, "recover", names)
    with owner.client() as c:
        assert wait_status(c, jid, TERMINAL)["status"] == "DONE", logs(workers)
        (dst_dir / "a.dat").unlink()
        altered = bytearray((dst_dir / "b.dat").read_bytes())
        altered[100] ^= 0xFF  # same size, different bytes
        (dst_dir / "b.dat").write_bytes(bytes(altered))
        untouched = (dst_dir / "c.dat").stat().st_mtime_ns

        def report_done() -> dict[str, Any] | None:
            rep = ok(c.get(f"{W}/jobs/{jid}/recover"))
            return rep if rep["state"] == "done" else None

        dry = ok(c.post(f"{W}/jobs/{jid}/recover", json={"dry_run": True}))
        assert dry["dry_run"] is True and dry["checking"] == 3
        rep = wait_for("the dry-run checks", report_done, timeout=20)
        assert sorted(d["dst_filepath"] for d in rep["differing"]) == ["/a.dat", "/b.dat"], rep
        assert rep["checked"] == 3
        assert wait_status(c, jid, TERMINAL)["status"] == "DONE", logs(workers)
        assert not (dst_dir / "a.dat").exists(), "a dry run changes nothing"
        assert (dst_dir / "b.dat").read_bytes() == bytes(altered)

        real = ok(c.post(f"{W}/jobs/{jid}/recover", json={"dry_run": False}))
        assert real["dry_run"] is False
        rep = wait_for("the recovery", report_done, timeout=20)
        assert sorted(d["dst_filepath"] for d in rep["differing"]) == ["/a.dat", "/b.dat"], rep
        assert wait_status(c, jid, TERMINAL)["status"] == "DONE", logs(workers)
        for n in names:
            assert (dst_dir / n).read_bytes() == (src_dir / n).read_bytes(), n
        assert (dst_dir / "c.dat").stat().st_mtime_ns == untouched
        assert not part_files(dst_dir)
