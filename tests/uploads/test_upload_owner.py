"""An upload is its uploader's alone, and the upload site the server's (issue 10, point 10)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import ServerProcess, User
from tests.integration.api import S, ScriptedWorker, W, dedicated_server


@pytest.fixture(scope="module")
def srv(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own, so the scripted worker claims only these tests' work."""
    with dedicated_server(db_url, tmp_path_factory.mktemp("owner")) as server:
        yield server


def upload(user: User, data: bytes) -> str:
    with user.client() as c:
        r = c.post(f"{W}/files", params={"name": "f.txt"}, content=data)
        assert r.status_code == 201, r.text
        return r.json()["id"]


def copy(user: User, src: object, path: str, dst: int, **extra: object) -> dict:
    with user.client() as c:
        r = c.post(f"{W}/jobs", json={"type": "COPY", "src_siteid": src, "src_filepath": path,
                                      "dst_siteid": dst, "dst_filepath": "/x.txt", **extra})
        return {**r.json(), "http": r.status_code}


def test_no_one_uses_or_deletes_what_is_not_theirs(srv: ServerProcess) -> None:
    alice, bob = srv.new_user(), srv.new_user()
    mine = upload(alice, b"alice's bytes")
    theirs = upload(bob, b"bob's bytes")
    alice_dst = alice.site(endpoints=["dummy://alice-dst/"])
    bob_dst = bob.site(endpoints=["dummy://bob-dst/"])
    job = copy(alice, "upload", mine, alice_dst)
    assert job["http"] == 200, job
    site = job["src_siteid"]  # the upload site, by number
    # Bob names alice's upload by the site's number, with and without a slash, or as "upload".
    for src, path in ((site, mine), (site, f"/{mine}"), ("upload", mine)):
        r = copy(bob, src, path, bob_dst)
        assert r["http"] == 404 and r["detail"] == f"no upload {path}", r
    assert copy(bob, site, theirs, bob_dst)["http"] == 200  # his own, by number: fine
    with bob.client() as c:
        r = c.post(f"{W}/jobs", json={"type": "LIST", "src_siteid": site, "src_filepath": mine})
        assert r.status_code == 400 and "only be the source of a COPY" in r.json()["detail"]
    r = copy(bob, bob_dst, "/a", site)
    assert r["http"] == 400 and "read-only" in r["detail"], r
    # The upload site is the server's: not the first uploader's, and no one deletes it.
    for who in (alice.client(), bob.client(), srv.admin()):
        with who as c:
            assert c.get(f"{S}/site/{site}").json()["is_owner"] is False
            r = c.delete(f"{S}/site/{site}")
            assert r.status_code == 403, r.text
            assert "the server's upload site" in r.json()["detail"]
    with alice.client() as c:
        assert c.get(f"{S}/site/{site}").status_code == 200


def test_the_worker_fetches_only_what_its_lease_copies(srv: ServerProcess) -> None:
    owner, other = srv.new_user(), srv.new_user()
    wanted = upload(owner, b"wanted bytes")
    unrelated = upload(other, b"someone else's")
    job = copy(owner, "upload", wanted, owner.site(endpoints=["dummy://fetch-dst/"]))
    assert job["http"] == 200, job
    worker = ScriptedWorker(srv, srv.new_worker())
    # A COPY starts with a LIST of its source, which fetches the upload; the other
    # test's queued jobs come along.
    leases = worker.claim_elements(["LIST", "COPY"])
    (job_id, element_id), token = next(kv for kv in leases.items() if kv[0][0] == job["id"])
    try:
        def fetch(upload_id: str, as_token: str, lease: str) -> tuple[int, bytes]:
            with srv.client(as_token) as c:
                r = c.get(f"{W}/worker/files/{upload_id}",
                          params={"jobid": job_id, "elementid": element_id, "token": lease})
                return r.status_code, r.content

        assert fetch(wanted, worker.token, token) == (200, b"wanted bytes")
        assert fetch(unrelated, worker.token, token)[0] == 404
        assert fetch(wanted, worker.token, "not-the-lease")[0] == 409
        assert fetch(wanted, srv.new_worker(), token)[0] == 409  # another worker: not its lease
        with owner.client() as c:  # and no user token reads through the worker route
            r = c.get(f"{W}/worker/files/{wanted}",
                      params={"jobid": job_id, "elementid": element_id, "token": token})
            assert r.status_code == 403
    finally:
        for (j, e), t in leases.items():
            worker.fail(j, e, t, retryable=False)
