"""Admin bans over HTTP (FTS3 semantics): storage (``/ban/se``) and users (``/ban/dn``).

A ScriptedWorker holds leases, so "elements that were running when the ban
came" are deterministic: their next heartbeat answers ``{"command":
"cancel"}`` and their report ends them CANCELLED. The module's server reaps
every 0.5 s, so a ``wait`` ban with a timeout cancels what it held quickly.
Runs on SQLite and PostgreSQL, with a server of its own (tests/control/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.control.helpers import (
    TERMINAL,
    W,
    Worker,
    cancelled_error,
    get_elements,
    get_job,
    ok,
    part_files,
    submit,
    unique,
    wait_for,
    wait_status,
)
from tests.engine.helpers import running_workers
from tests.harness import ServerProcess, User


@pytest.fixture
def cleanup(oc: httpx.Client, ac: httpx.Client) -> Iterator[list[int]]:
    """Job ids a test made; whatever is still active is cancelled, bans are lifted."""
    jobs: list[int] = []
    yield jobs
    for jid in jobs:
        oc.post(f"{W}/jobs/{jid}/cancel")
    for ban in ok(ac.get(f"{W}/ban/se")):
        ac.delete(f"{W}/ban/se", params={"storage": ban["storage"]})


def copy_job(c: httpx.Client, src: int, dst: int, jobs: list[int]) -> int:
    jid = submit(c, type="COPY", src_siteid=src, src_filepath="/f", dst_siteid=dst,
                 dst_filepath="/g")
    jobs.append(jid)
    return jid


def hold_running(worker: Worker, jid: int) -> str:
    """Claims element 0 of ``jid`` (the only queued work) and makes it RUNNING."""
    leases = worker.claim_elements(["LIST"])
    assert list(leases) == [(jid, 0)], leases
    worker.heartbeat(jid, 0, leases[(jid, 0)], transferred=1)
    return leases[(jid, 0)]


def end_cancelled(worker: Worker, jid: int, lease: str) -> None:
    beat = worker.heartbeat(jid, 0, lease, transferred=2)
    assert beat["command"] == "cancel", beat
    ok(worker.report(jid, 0, lease, 1, error=cancelled_error()))


def status(c: httpx.Client, jid: int) -> str:
    return str(get_job(c, jid)["status"])


def test_ban_se_cancel_by_site_id_cancels_queued_and_running(
    owner: User, oc: httpx.Client, ac: httpx.Client, scripted: Worker, cleanup: list[int]
) -> None:
    banned = owner.site(endpoints=[f"dummy://{unique('bx')}/"])
    other = owner.site(endpoints=[f"dummy://{unique('by')}/"])
    running = copy_job(oc, banned, other, cleanup)
    lease = hold_running(scripted, running)
    queued = copy_job(oc, other, banned, cleanup)  # as destination too
    spared = copy_job(oc, other, other, cleanup)

    body = ok(ac.post(f"{W}/ban/se", json={"storage": banned, "status": "cancel"}))
    assert body["sites"] == [banned] and body["status"] == "cancel"
    assert sorted(body["affected"]) == sorted([running, queued])
    assert status(oc, queued) == "CANCELLED"
    assert status(oc, running) == "RUNNING", "running work is told, not yanked"
    end_cancelled(scripted, running, lease)
    assert status(oc, running) == "CANCELLED"
    assert status(oc, spared) == "NEW"

    listed = ok(ac.get(f"{W}/ban/se"))
    assert [(b["storage"], b["status"], b["allow_submit"], b["sites"]) for b in listed] == [
        (str(banned), "cancel", False, [banned])
    ]
    r = oc.post(f"{W}/jobs", json={"type": "LIST", "src_siteid": banned, "src_filepath": "/"})
    assert r.status_code == 403, r.text
    # The spared job is claimable; nothing on the banned site is.
    assert list(scripted.claim_elements(["LIST"])) == [(spared, 0)]
    ok(oc.post(f"{W}/jobs/{spared}/cancel"))

    assert ok(ac.delete(f"{W}/ban/se", params={"storage": str(banned)}))["unbanned"] is True
    assert ok(ac.get(f"{W}/ban/se")) == []
    cleanup.append(submit(oc, type="LIST", src_siteid=banned, src_filepath="/"))
    r = ac.delete(f"{W}/ban/se", params={"storage": str(banned)})
    assert r.status_code == 404, r.text


def test_ban_se_wait_by_url_holds_work_until_unban(
    owner: User, oc: httpx.Client, ac: httpx.Client, scripted: Worker, cleanup: list[int]
) -> None:
    host = unique("wait")
    site_a = owner.site(endpoints=[f"dummy://{host}/a"])
    site_b = owner.site(endpoints=[f"dummy://{host}/b?files=1"])  # same scheme://host
    sink = owner.site(endpoints=[f"dummy://{unique('sink')}/"])
    held = copy_job(oc, site_a, sink, cleanup)
    held_b = copy_job(oc, sink, site_b, cleanup)

    body = ok(ac.post(f"{W}/ban/se", json={
        "storage": f"dummy://{host.upper()}/ignored/path", "status": "wait", "allow_submit": True,
    }))
    assert body["storage"] == f"dummy://{host}"
    assert body["sites"] == sorted([site_a, site_b])
    assert sorted(body["affected"]) == sorted([held, held_b])
    # Submissions are accepted (allow_submit) and wait like the rest.
    late = copy_job(oc, site_a, sink, cleanup)
    for jid in (held, held_b, late):
        assert status(oc, jid) == "NEW"
    assert scripted.claim_elements(["LIST"]) == {}, "nothing on a waiting storage is claimable"

    ok(ac.delete(f"{W}/ban/se", params={"storage": f"dummy://{host}"}))
    leases = scripted.claim_elements(["LIST"])
    assert sorted(leases) == sorted([(held, 0), (held_b, 0), (late, 0)])
    for (jid, eid), token in leases.items():
        scripted.fail(jid, eid, token, retryable=False)
        assert status(oc, jid) == "FAILED"


def test_ban_se_wait_with_timeout_cancels_after_it(
    owner: User, oc: httpx.Client, ac: httpx.Client, scripted: Worker, cleanup: list[int]
) -> None:
    site = owner.site(endpoints=[f"dummy://{unique('tmo')}/"])
    sink = owner.site(endpoints=[f"dummy://{unique('sink')}/"])
    jid = copy_job(oc, site, sink, cleanup)
    ok(ac.post(f"{W}/ban/se", json={"storage": site, "status": "wait", "timeout": 1}))
    assert status(oc, jid) == "NEW"
    assert scripted.claim_elements(["LIST"]) == {}
    wait_for("the wait ban to time out", lambda: status(oc, jid) == "CANCELLED", timeout=10)
    listed = ok(ac.get(f"{W}/ban/se"))
    assert [(b["storage"], b["status"]) for b in listed] == [(str(site), "cancel")]


def test_ban_se_wait_refusing_submissions(
    owner: User, oc: httpx.Client, ac: httpx.Client, cleanup: list[int]
) -> None:
    site = owner.site(endpoints=[f"dummy://{unique('nosub')}/"])
    sink = owner.site(endpoints=[f"dummy://{unique('sink')}/"])
    ok(ac.post(f"{W}/ban/se", json={"storage": site, "status": "wait", "allow_submit": False}))
    for src, dst in ((site, sink), (sink, site)):
        r = oc.post(f"{W}/jobs", json={"type": "COPY", "src_siteid": src, "src_filepath": "/f",
                                       "dst_siteid": dst, "dst_filepath": "/g"})
        assert r.status_code == 403, r.text
        assert str(site) in r.json()["detail"]
    copy_job(oc, sink, sink, cleanup)  # other storage is unaffected


def test_ban_se_url_refusing_submissions(
    owner: User, oc: httpx.Client, ac: httpx.Client, cleanup: list[int]
) -> None:
    """A URL ban reaches a submission through its sites' endpoints (same scheme://host)."""
    host = unique("nosuburl")
    site = owner.site(endpoints=[f"dummy://{host}/a"])
    sink = owner.site(endpoints=[f"dummy://{unique('sink')}/"])
    ban = {"storage": f"dummy://{host.upper()}/x", "status": "wait", "allow_submit": False}
    ok(ac.post(f"{W}/ban/se", json=ban))
    for src, dst in ((site, sink), (sink, site)):
        r = oc.post(f"{W}/jobs", json={"type": "COPY", "src_siteid": src, "src_filepath": "/f",
                                       "dst_siteid": dst, "dst_filepath": "/g"})
        assert r.status_code == 403, r.text
        assert str(site) in r.json()["detail"]
    copy_job(oc, sink, sink, cleanup)  # other storage is unaffected
    ok(ac.delete(f"{W}/ban/se", params={"storage": f"dummy://{host}"}))
    copy_job(oc, site, sink, cleanup)  # lifted: accepted again


def test_ban_se_bad_requests(ac: httpx.Client) -> None:
    assert ac.post(f"{W}/ban/se", json={"storage": 1, "status": "bogus"}).status_code == 400
    assert ac.post(f"{W}/ban/se", json={"storage": 987654}).status_code == 404
    assert ac.post(f"{W}/ban/se", json={"storage": "not a url"}).status_code == 400
    r = ac.post(f"{W}/ban/se", json={"storage": 1, "timeout": -1})
    assert r.status_code in (400, 422)
    assert ac.delete(f"{W}/ban/se", params={"storage": "dummy://never"}).status_code == 404


@pytest.mark.parametrize("by", ["email", "id"])
def test_ban_dn_cancels_running_and_queued_and_locks_the_tokens(
    srv: ServerProcess, ac: httpx.Client, scripted: Worker, by: str
) -> None:
    victim = srv.new_user()
    bystander = srv.new_user()
    with victim.client() as vc, bystander.client() as bc:
        site = victim.site(endpoints=[f"dummy://{unique('dn')}/"])
        running = submit(vc, type="LIST", src_siteid=site, src_filepath="/r")
        lease = hold_running(scripted, running)
        queued = submit(vc, type="LIST", src_siteid=site, src_filepath="/q")
        done = submit(vc, type="LIST", src_siteid=site, src_filepath="/d")
        ok(vc.post(f"{W}/jobs/{done}/cancel"))  # already terminal: not affected
        other_site = bystander.site(endpoints=[f"dummy://{unique('dnb')}/"])
        spared = submit(bc, type="LIST", src_siteid=other_site, src_filepath="/s")

        ref: str | int = victim.email if by == "email" else victim.id
        body = ok(ac.post(f"{W}/ban/dn", json={"user": ref}))
        assert (body["user"], body["user_id"]) == (victim.email, victim.id)
        assert sorted(body["affected"]) == sorted([running, queued])
        assert vc.get(f"{W}/jobs").status_code == 401
        assert vc.get(f"{W}/jobs/{queued}").status_code == 401
        assert bc.get(f"{W}/jobs").status_code == 200
        # The element that was running hears the cancel and ends CANCELLED.
        end_cancelled(scripted, running, lease)
        assert status(bc, spared) == "NEW"
        listed = ok(ac.get(f"{W}/ban/dn"))
        assert (victim.id, victim.email) in [(b["user_id"], b["user"]) for b in listed]

        assert ok(ac.delete(f"{W}/ban/dn", params={"user": str(ref)}))["unbanned"] is True
        assert vc.get(f"{W}/jobs").status_code == 200, "unban restores the tokens"
        for jid in (running, queued):
            job = get_job(vc, jid)
            assert (job["status"], job["num_cancelled"]) == ("CANCELLED", 1), job
        assert status(vc, done) == "CANCELLED"
        assert victim.id not in [b["user_id"] for b in ok(ac.get(f"{W}/ban/dn"))]
        assert ac.delete(f"{W}/ban/dn", params={"user": str(ref)}).status_code == 404
        ok(bc.post(f"{W}/jobs/{spared}/cancel"))


def test_admin_cannot_ban_itself(ac: httpx.Client) -> None:
    me = ok(ac.get("/whoami"))
    r = ac.post(f"{W}/ban/dn", json={"user": me.get("id", me.get("user_id"))})
    assert r.status_code == 400, r.text


def test_bans_are_admin_only(oc: httpx.Client, other: User, owner_site: int) -> None:
    for method, path, kwargs in (
        ("POST", "/ban/se", {"json": {"storage": owner_site, "status": "cancel"}}),
        ("GET", "/ban/se", {}),
        ("DELETE", "/ban/se", {"params": {"storage": str(owner_site)}}),
        ("POST", "/ban/dn", {"json": {"user": other.email}}),
        ("GET", "/ban/dn", {}),
        ("DELETE", "/ban/dn", {"params": {"user": other.email}}),
    ):
        r = oc.request(method, f"{W}{path}", **kwargs)
        assert r.status_code == 403, (method, path, r.text)
    with httpx.Client(base_url=str(oc.base_url)) as anon:
        assert anon.get(f"{W}/ban/se").status_code == 401


def test_ban_se_cancel_reaches_a_real_worker_mid_copy(
    srv: ServerProcess, owner: User, oc: httpx.Client, ac: httpx.Client, worker_token: str,
    file_root: Path, tmp_path: Path, cleanup: list[int],
) -> None:
    dst_dir = file_root / unique("banned-dst")
    dst_dir.mkdir()
    src = owner.site(endpoints=[f"dummy://{unique('bslow')}/?files=2&size=40000000&speed=5000000"])
    dst = owner.site(endpoints=[f"file://{dst_dir}"])
    with running_workers(srv, tmp_path / "logs", n=1, token=worker_token, concurrency=4,
                         heartbeat_seconds=1) as procs:
        jid = submit(oc, type="COPY", src_siteid=src, src_filepath="/", dst_siteid=dst,
                     dst_filepath="/")
        cleanup.append(jid)

        def copying() -> bool:
            els = [e for e in get_elements(oc, jid) if e["type"] == "COPY"]
            return len(els) == 2 and all(e["status"] == "RUNNING" for e in els)

        wait_for("both copies running", copying, timeout=30)
        body = ok(ac.post(f"{W}/ban/se", json={"storage": dst, "status": "cancel"}))
        assert body["affected"] == [jid]
        job = wait_status(oc, jid, TERMINAL, timeout=8)
        assert job["status"] == "CANCELLED", "\n".join(p.log_text() for p in procs)
        assert job["num_cancelled"] == 2 and job["num_done"] == 1
        wait_for("temporary files to be removed", lambda: not part_files(dst_dir), timeout=5)
        assert not [p for p in dst_dir.rglob("*") if p.is_file()]
