"""Sites, endpoints and per-user credentials under /site/api/v1.0."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import ServerProcess, User
from tests.integration.api import PROTOCOLS, S, ScriptedWorker, W, is_iso


def name() -> str:
    return f"site-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def alice(server: ServerProcess) -> User:
    return server.new_user()


@pytest.fixture(scope="module")
def bob(server: ServerProcess) -> User:
    return server.new_user()


@pytest.fixture()
def ac(alice: User) -> Iterator[httpx.Client]:
    with alice.client() as c:
        yield c


def create(c: httpx.Client, endpoints: list[str], **extra: Any) -> int:
    r = c.post(f"{S}/site", json={"site_name": name(), "endpoints": endpoints, **extra})
    assert r.status_code == 200, r.text
    site_id = r.json()
    assert isinstance(site_id, int)
    return site_id


def check_site(site: dict[str, Any]) -> None:
    assert isinstance(site["site_id"], int)
    assert isinstance(site["site_name"], str)
    assert isinstance(site["site_desc"], str)
    assert isinstance(site["def_path"], str)
    assert isinstance(site["public"], bool)
    assert isinstance(site["is_owner"], bool)
    assert isinstance(site["requires_credential"], bool)
    assert set(site["protocols"]) <= PROTOCOLS


# ---------------------------------------------------------------- site CRUD


def test_create_get_list_site(ac: httpx.Client) -> None:
    n = name()
    endpoints = ["dummy://one/prefix", "dummy://two/"]
    r = ac.post(f"{S}/site", json={"site_name": n, "site_desc": "two dummies", "public": False,
                                   "def_path": "/home/alice", "endpoints": endpoints})
    assert r.status_code == 200, r.text
    sid = r.json()
    site = ac.get(f"{S}/site/{sid}").json()
    check_site(site)
    assert site["site_id"] == sid and site["site_name"] == n
    assert site["site_desc"] == "two dummies"
    assert site["def_path"] == "/home/alice"
    assert site["public"] is False and site["is_owner"] is True
    assert site["endpoints"] == endpoints
    assert site["protocols"] == ["DUMMY"]
    assert site["requires_credential"] is False
    listed = [s for s in ac.get(f"{S}/site").json() if s["site_id"] == sid]
    assert len(listed) == 1
    check_site(listed[0])
    assert listed[0]["site_name"] == n


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"endpoints": ["dummy://x/"]}, 422, "site_name"),
        ({"site_name": "NAME"}, 422, "endpoints"),
        ({"site_name": "NAME", "endpoints": []}, 400, "endpoints"),
        ({"site_name": "  ", "endpoints": ["dummy://x/"]}, 400, "site_name"),
        ({"site_name": "x" * 300, "endpoints": ["dummy://x/"]}, 400, "site_name"),
        ({"site_name": "NAME", "endpoints": "dummy://x/"}, 422, "endpoints"),
        ({"site_name": "NAME", "endpoints": ["ftp://host/x"]}, 400, "unknown scheme"),
        ({"site_name": "NAME", "endpoints": ["gsiftp://host/x"]}, 400, "unknown scheme"),
        ({"site_name": "NAME", "endpoints": ["no-scheme-at-all"]}, 400, "endpoint"),
        ({"site_name": "NAME", "endpoints": ["sftp://bob:hunter2@host/"]}, 400, "credential"),
        ({"site_name": "NAME", "endpoints": ["sftp:///nohost"]}, 400, "host"),
        ({"site_name": "NAME", "endpoints": ["dummy://x/../y"]}, 400, "'..'"),
        ({"site_name": "NAME", "endpoints": ["sftp://[::1/"]}, 400, "endpoint"),
        ({"site_name": "NAME", "endpoints": ["sftp://h:99999/"]}, 400, "Port"),
        ({"site_name": "NAME", "endpoints": ["sftp://h:port/"]}, 400, "Port"),
        ({"site_name": "NAME", "endpoints": ["dummy://h/" + "x" * 3000]}, 400, "longer"),
        ({"site_name": "NAME", "endpoints": ["dummy://x/"], "def_path": "/a/../b"}, 400,
         "def_path"),
        ({"site_name": "NAME", "endpoints": ["dummy://x/"], "public": "maybe"}, 422, "public"),
        ({"site_name": "a\x00b", "endpoints": ["dummy://x/"]}, 400, "site_name"),
        ({"site_name": "NAME", "site_desc": "\x00", "endpoints": ["dummy://x/"]}, 400,
         "site_desc"),
    ],
)
def test_bad_site_registrations(
    ac: httpx.Client, body: dict[str, Any], status: int, field: str
) -> None:
    body = {k: (name() if v == "NAME" else v) for k, v in body.items()}
    r = ac.post(f"{S}/site", json=body)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert field in detail
    assert "hunter2" not in detail


def test_duplicate_site_name_conflicts(ac: httpx.Client) -> None:
    n = name()
    assert ac.post(f"{S}/site", json={"site_name": n, "endpoints": ["dummy://a/"]}
                   ).status_code == 200
    r = ac.post(f"{S}/site", json={"site_name": n, "endpoints": ["dummy://b/"]})
    assert r.status_code == 409


@pytest.mark.parametrize(
    ("url", "protocol", "needs_credential"),
    [("sftp://sftp.example.org:2222/data", "SSH", True), ("https://dav.example.org/", "HTTPS",
     True), ("davs://dav.example.org/x", "HTTPS", True), ("root://xrd.example.org//store",
     "XROOTD", True), ("s3://s3.example.org/bucket", "S3", True), ("dummy://d/", "DUMMY", False)],
)
def test_each_scheme_names_its_protocol(
    ac: httpx.Client, url: str, protocol: str, needs_credential: bool
) -> None:
    sid = create(ac, [url])
    site = ac.get(f"{S}/site/{sid}").json()
    assert site["protocols"] == [protocol]
    assert site["requires_credential"] is needs_credential
    assert site["endpoints"] == [url]


@pytest.mark.parametrize(
    "url",
    ["sftp://sftp.example.org/d", "https://dav.example.org/", "root://xrd.example.org//s",
     "s3://s3.example.org/bucket"],
)
def test_only_admins_register_sites_without_a_credential(
    server: ServerProcess, ac: httpx.Client, url: str
) -> None:
    # Without a credential the worker connects anonymously; a user may not
    # declare that of a site needing one (the worker would lend its own identity).
    r = ac.post(f"{S}/site", json={"site_name": name(), "endpoints": [url],
                                   "requires_credential": False})
    assert r.status_code == 400, r.text
    assert r.json()["detail"].startswith("requires_credential:")
    with server.admin() as admin:
        sid = create(admin, [url], requires_credential=False)
        assert admin.get(f"{S}/site/{sid}").json()["requires_credential"] is False


def test_requires_credential_can_be_switched_off_for_other_schemes(ac: httpx.Client) -> None:
    sid = create(ac, ["dummy://d/"], requires_credential=False)
    assert ac.get(f"{S}/site/{sid}").json()["requires_credential"] is False


def test_file_endpoints_need_admin_or_an_allowed_root(
    server: ServerProcess, ac: httpx.Client, tmp_path: Path
) -> None:
    root: Path = server.file_root  # type: ignore[attr-defined]
    for url in (f"file://{tmp_path}", "file:///etc", "file:///", f"file://{root}/../outside",
                f"file://{root}x"):
        r = ac.post(f"{S}/site", json={"site_name": name(), "endpoints": [url]})
        assert r.status_code in (400, 403), (url, r.text)
    r = ac.post(f"{S}/site", json={"site_name": name(), "endpoints": ["file:///etc"]})
    assert r.status_code == 403
    assert "admin" in r.json()["detail"]
    inside = create(ac, [f"file://{root}/alice"])
    assert ac.get(f"{S}/site/{inside}").json()["protocols"] == ["FILE"]
    assert create(ac, [f"file://{root}"]) > 0
    with server.admin() as c:
        sid = create(c, [f"file://{tmp_path}"])
        assert c.get(f"{S}/site/{sid}").json()["endpoints"] == [f"file://{tmp_path}"]


def test_visibility_public_and_private(ac: httpx.Client, alice: User, bob: User) -> None:
    private = create(ac, ["dummy://p/"])
    public = create(ac, ["dummy://q/"], public=True)
    sftp = create(ac, ["sftp://storage.invalid:2222/data"], public=True)
    with bob.client() as bc:
        seen = {s["site_id"]: s for s in bc.get(f"{S}/site").json()}
        assert private not in seen
        assert public in seen and seen[public]["is_owner"] is False
        # A public site names its owner; schemes say what its endpoints are.
        assert seen[public]["owner"] == alice.email
        assert (seen[sftp]["schemes"], seen[sftp]["protocols"]) == (["sftp"], ["SSH"])
        assert bc.get(f"{S}/site/{private}").status_code == 404
        site = bc.get(f"{S}/site/{public}").json()
        assert site["endpoints"] == ["dummy://q/"] and site["is_owner"] is False
        # Bob may use the public site in his own jobs, not the private one.
        assert bc.post(f"{W}/list", json={"src_siteid": public, "src_filepath": "/"}
                       ).status_code == 200
        assert bc.post(f"{W}/list", json={"src_siteid": private, "src_filepath": "/"}
                       ).status_code == 400


def test_delete_site_owner_or_admin(server: ServerProcess, ac: httpx.Client, bob: User) -> None:
    private = create(ac, ["dummy://p/"])
    public = create(ac, ["dummy://q/"], public=True)
    by_admin = create(ac, ["dummy://r/"])
    with bob.client() as bc:
        assert bc.delete(f"{S}/site/{private}").status_code == 404
        r = bc.delete(f"{S}/site/{public}")
        assert r.status_code == 403
        assert "owner" in r.json()["detail"]
    assert ac.get(f"{S}/site/{public}").status_code == 200
    r = ac.delete(f"{S}/site/{private}")
    assert r.status_code == 200
    assert ac.get(f"{S}/site/{private}").status_code == 404
    assert ac.delete(f"{S}/site/{private}").status_code == 404
    with server.admin() as c:
        assert c.delete(f"{S}/site/{by_admin}").status_code == 200
    assert ac.get(f"{S}/site/{by_admin}").status_code == 404
    assert ac.delete(f"{S}/site/{2**40}").status_code in (404, 422)


def test_endpoint_route_is_for_workers_within_their_leases(
    iso_server: ServerProcess, iso_worker: ScriptedWorker
) -> None:
    """A worker reads a site's endpoints only while it leases an element using the site."""
    owner = iso_server.new_user()
    with owner.client() as oc:
        sid = create(oc, ["dummy://endpoint-info/data"], def_path="/home/a")
        with iso_server.client(iso_worker.token) as wc:
            assert wc.get(f"{S}/endpoint/{sid}").status_code == 404  # no lease yet
            job = oc.post(f"{W}/jobs", json={"type": "MKDIR", "src_siteid": sid,
                                             "src_filepath": "/home/a/new"})
            assert job.status_code == 200, job.text
            leases = iso_worker.claim_elements(["MKDIR"])
            try:
                r = wc.get(f"{S}/endpoint/{sid}")
                assert r.status_code == 200, r.text
                body = r.json()
                assert body["site_id"] == sid
                assert body["endpoints"] == ["dummy://endpoint-info/data"]
                assert body["def_path"] == "/home/a"
                assert "credential" not in body
                assert wc.get(f"{S}/endpoint/999999").status_code == 404
                other = iso_server.new_worker()
                with iso_server.client(other) as oc2:  # a worker without the lease
                    assert oc2.get(f"{S}/endpoint/{sid}").status_code == 404
            finally:
                for (job_id, element_id), token in leases.items():
                    iso_worker.succeed(job_id, element_id, token)
        r = oc.get(f"{S}/endpoint/{sid}")
        assert r.status_code == 403
    with iso_server.client() as c:
        assert c.get(f"{S}/endpoint/{sid}").status_code == 401


def test_service_info(ac: httpx.Client) -> None:
    r = ac.get(f"{S}/service")
    assert r.status_code == 200
    body = r.json()
    assert {"file", "sftp", "https", "davs", "root", "s3", "dummy"} <= set(body["schemes"])
    assert "username+password" in body["credential_schemes"]["sftp"]
    assert "access_key+secret_key" in body["credential_schemes"]["s3"]


def test_site_routes_need_a_token(server: ServerProcess) -> None:
    with server.client() as c:
        for method, path in [("GET", "/site"), ("GET", "/site/1"), ("POST", "/site"),
                             ("DELETE", "/site/1"), ("GET", "/session/1"),
                             ("POST", "/session/1"), ("DELETE", "/session/1")]:
            r = c.request(method, S + path, json={})
            assert r.status_code == 401, (method, path)


# ------------------------------------------------------------- credentials


@pytest.mark.parametrize(
    ("url", "material"),
    [
        ("sftp://sftp.example.org/", {"username": "alice", "password": "secret-pw-1"}),
        ("sftp://sftp.example.org/",
         {"username": "alice", "private_key": "secret-KEY", "passphrase": "secret-pass"}),
        ("https://dav.example.org/", {"token": "secret-tok-1"}),
        ("davs://dav.example.org/", {"username": "alice", "password": "secret-pw-2"}),
        ("root://xrd.example.org//store", {"token": "secret-tok-2"}),
        ("s3://s3.example.org/bucket",
         {"access_key": "AK", "secret_key": "secret-SK", "region": "r"}),
    ],
)
def test_credential_lifecycle(ac: httpx.Client, url: str, material: dict[str, str]) -> None:
    sid = create(ac, [url])
    r = ac.get(f"{S}/session/{sid}")
    assert r.status_code == 200
    assert r.json()["ok"] is False and r.json()["required"] is True
    r = ac.post(f"{S}/session/{sid}", json={**material, "lifetime": 3600})
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True and is_iso(r.json()["expiry"])
    state = ac.get(f"{S}/session/{sid}").json()
    assert state["ok"] is True and is_iso(state["expiry"])
    for key in ("password", "private_key", "passphrase", "token", "secret_key"):
        if key in material:
            assert material[key] not in ac.get(f"{S}/session/{sid}").text
    assert ac.delete(f"{S}/session/{sid}").status_code == 200
    assert ac.get(f"{S}/session/{sid}").json()["ok"] is False
    assert ac.delete(f"{S}/session/{sid}").status_code == 404


@pytest.mark.parametrize(
    ("url", "material", "field"),
    [
        ("sftp://h/", {"username": "alice"}, "credential"),
        ("sftp://h/", {"password": "pw"}, "credential"),
        ("sftp://h/", {"token": "t"}, "token"),
        ("sftp://h/", {"username": "a", "password": "p", "access_key": "x"}, "access_key"),
        ("sftp://h/", {"username": "a", "password": "p", "shell": "rm -rf /"}, "shell"),
        ("sftp://h/", {"username": "a", "password": 5}, "password"),
        ("sftp://h/", {"username": "a", "password": "p", "lifetime": 0}, "lifetime"),
        ("sftp://h/", {"username": "a", "password": "p", "lifetime": 10**9}, "lifetime"),
        ("sftp://h/", {"username": "a", "password": "p", "lifetime": "long"}, "lifetime"),
        ("sftp://h/", {"username": "a\x00", "password": "p"}, "username"),
        ("sftp://h/", {"username": "u" * 300, "password": "p"}, "username"),
        ("sftp://h/", {"username": "u", "password": "p", "extra": "\x00"}, "extra"),
        ("https://h/", {"username": "alice"}, "credential"),
        ("https://h/", {"secret_key": "x"}, "secret_key"),
        ("s3://h/b", {"access_key": "AK"}, "credential"),
        ("s3://h/b", {"secret_key": "SK"}, "credential"),
        ("s3://h/b", {"token": "t"}, "token"),
        ("dummy://h/", {"token": "t"}, "credential"),
    ],
)
def test_wrong_credential_fields_are_400(
    ac: httpx.Client, url: str, material: dict[str, Any], field: str
) -> None:
    sid = create(ac, [url])
    r = ac.post(f"{S}/session/{sid}", json=material)
    assert r.status_code in (400, 422), r.text
    assert field in r.json()["detail"]
    assert ac.get(f"{S}/session/{sid}").json()["ok"] is False


def test_session_routes_on_unknown_or_hidden_sites(ac: httpx.Client, bob: User) -> None:
    private = create(ac, ["sftp://h/"])
    assert ac.get(f"{S}/session/999999").status_code == 404
    with bob.client() as bc:
        assert bc.get(f"{S}/session/{private}").status_code == 404
        r = bc.post(f"{S}/session/{private}", json={"username": "b", "password": "p"})
        assert r.status_code == 404
        assert bc.delete(f"{S}/session/{private}").status_code == 404


def test_job_needs_a_live_credential_419(ac: httpx.Client, bob: User) -> None:
    dummy = create(ac, ["dummy://d/"])
    n = name()
    r = ac.post(f"{S}/site", json={"site_name": n, "endpoints": ["sftp://sftp.example.org/"],
                                   "public": True})
    sftp = r.json()
    body = {"src_siteid": sftp, "src_filepath": "/data"}

    r = ac.post(f"{W}/list", json=body)
    assert r.status_code == 419
    detail = r.json()["detail"]
    assert str(sftp) in detail and n in detail
    # As destination too, naming the destination site.
    r = ac.post(f"{W}/copy", json={"src_siteid": dummy, "dst_siteid": sftp,
                                   "src_filepath": "/a", "dst_filepath": "/b"})
    assert r.status_code == 419
    assert "dst_siteid" in r.json()["detail"] and n in r.json()["detail"]

    assert ac.post(f"{S}/session/{sftp}", json={"username": "alice", "password": "pw",
                                                "lifetime": 3600}).status_code == 200
    assert ac.post(f"{W}/list", json=body).status_code == 200
    assert ac.post(f"{W}/copy", json={"src_siteid": dummy, "dst_siteid": sftp,
                                      "src_filepath": "/a", "dst_filepath": "/b"}
                   ).status_code == 200

    # Alice's credential is hers: Bob, on the same public site, still needs his own.
    with bob.client() as bc:
        r = bc.post(f"{W}/list", json=body)
        assert r.status_code == 419

    # After deleting it, 419 again.
    assert ac.delete(f"{S}/session/{sftp}").status_code == 200
    assert ac.post(f"{W}/list", json=body).status_code == 419


def test_expired_credential_is_419_again(ac: httpx.Client) -> None:
    sid = create(ac, ["s3://s3.example.org/bucket"])
    body = {"src_siteid": sid, "src_filepath": "/obj"}
    r = ac.post(f"{S}/session/{sid}", json={"access_key": "AK", "secret_key": "SK",
                                            "lifetime": 2})
    assert r.status_code == 200
    assert ac.post(f"{W}/list", json=body).status_code == 200
    expires = datetime.fromisoformat(r.json()["expiry"]).timestamp()
    time.sleep(max(0.0, expires + 0.3 - time.time()))
    r = ac.post(f"{W}/list", json=body)
    assert r.status_code == 419
    assert str(sid) in r.json()["detail"]
    assert ac.get(f"{S}/session/{sid}").json()["ok"] is False
    assert sid not in [c["site_id"] for c in ac.get("/whoami").json()["credentials"]]
    # Renewing works.
    assert ac.post(f"{S}/session/{sid}", json={"access_key": "AK", "secret_key": "SK"}
                   ).status_code == 200
    assert ac.post(f"{W}/list", json=body).status_code == 200
