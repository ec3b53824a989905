"""Accounts, login and tokens under /users/api/v1.0, and the root routes."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

import httpx
import pytest

from tests.harness import ServerProcess, User
from tests.integration.api import S, U, is_iso

# Short enough to wait out, long enough for a loaded machine to use the token first.
LIFETIME = 2


def sleep_past(expires: str) -> None:
    """Sleeps until just after an ISO timestamp the server gave (same machine, same clock)."""
    deadline = datetime.fromisoformat(expires).timestamp() + 0.3
    time.sleep(max(0.0, deadline - time.time()))


def email() -> str:
    return f"u-{uuid.uuid4().hex[:8]}@test.org"


@pytest.fixture(scope="module")
def open_server(iso_server: ServerProcess) -> ServerProcess:
    """A server started with --open-registration."""
    return iso_server


@pytest.fixture(scope="module")
def plain(server: ServerProcess) -> User:
    """A user for the tests that change nothing about their account."""
    return server.new_user()


# -------------------------------------------------------------- registration


def test_registration_is_closed_by_default(server: ServerProcess) -> None:
    body = {"email": email(), "passwd": "long enough pw"}
    with server.client() as c:
        r = c.post(f"{U}/users", json=body)
        assert r.status_code == 403
        assert "registration" in r.json()["detail"]
    user = server.new_user()
    with user.client() as c:
        assert c.post(f"{U}/users", json=body).status_code == 403
    with server.admin() as c:
        r = c.post(f"{U}/users", json=body)
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["email"] == body["email"]
        assert created["roles"] == ["user"]
        assert isinstance(created["id"], int)
        assert "passwd" not in created and "password_hash" not in created
    with server.client() as c:
        assert c.post(f"{U}/login", json=body).status_code == 200


def test_open_registration_lets_anyone_register(open_server: ServerProcess) -> None:
    addr = email()
    with open_server.client() as c:
        r = c.post(f"{U}/users", json={"email": addr, "passwd": "a fine password"})
        assert r.status_code == 201, r.text
        assert r.json()["email"] == addr
        r = c.post(f"{U}/login", json={"email": addr, "passwd": "a fine password"})
        assert r.status_code == 200
        token = r.json()["token"]
        # Emails are compared case-insensitively, so a second sign-up is refused.
        r = c.post(f"{U}/users", json={"email": addr.upper(), "passwd": "a fine password"})
        assert r.status_code == 409
    with open_server.client(token) as c:
        me = c.get(f"{U}/users/self").json()
        assert me["email"] == addr and me["roles"] == ["user"]


def test_registration_cannot_choose_a_role(open_server: ServerProcess) -> None:
    addr = email()
    with open_server.client() as c:
        r = c.post(f"{U}/users", json={"email": addr, "passwd": "a fine password",
                                       "admin": True, "role": "admin", "roles": ["admin"]})
        assert r.status_code == 201
        assert r.json()["roles"] == ["user"]
        token = c.post(f"{U}/login", json={"email": addr, "passwd": "a fine password"}
                       ).json()["token"]
    with open_server.client(token) as c:
        assert c.get("/whoami").json()["roles"] == ["user"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"passwd": "long enough pw"}, 422, "email"),
        ({"email": "x@y.org"}, 422, "passwd"),
        ({"email": "not-an-email", "passwd": "long enough pw"}, 400, "email"),
        ({"email": "x@y.org", "passwd": "short"}, 400, "passwd"),
        ({"email": 5, "passwd": "long enough pw"}, 422, "email"),
        ({"email": "a\x00@y.org", "passwd": "long enough pw"}, 400, "email"),
        ({"email": "x@y.org", "passwd": "long enough pw", "name": "n" * 300}, 422, "name"),
    ],
)
def test_registration_validation(
    open_server: ServerProcess, body: dict[str, object], status: int, field: str
) -> None:
    with open_server.client() as c:
        r = c.post(f"{U}/users", json=body)
        assert r.status_code == status, r.text
        assert field in r.json()["detail"]


# --------------------------------------------------------------------- login


def test_login_and_emails_are_case_insensitive(server: ServerProcess) -> None:
    addr = f"Mixed.Case-{uuid.uuid4().hex[:6]}@Example.ORG"
    with server.admin() as c:
        r = c.post(f"{U}/users", json={"email": addr, "passwd": "correct horse"})
        assert r.status_code == 201
        assert r.json()["email"] == addr.lower()
        assert c.post(f"{U}/users", json={"email": addr.lower(), "passwd": "correct horse"}
                      ).status_code == 409
    with server.client() as c:
        for variant in (addr, addr.lower(), addr.upper(), f"  {addr}  "):
            r = c.post(f"{U}/login", json={"email": variant, "passwd": "correct horse"})
            assert r.status_code == 200, variant
            body = r.json()
            assert body["token"].startswith("haul_")
            assert is_iso(body["expires"])


def test_wrong_password_and_unknown_email_answer_alike(
    server: ServerProcess, plain: User
) -> None:
    user = plain
    with server.client() as c:
        wrong = c.post(f"{U}/login", json={"email": user.email, "passwd": "not the password"})
        unknown = c.post(f"{U}/login", json={"email": email(), "passwd": "not the password"})
        for r in (wrong, unknown):
            assert r.status_code == 401
        assert wrong.json() == unknown.json()
        assert "token" not in wrong.text


def test_login_token_lifetime(server: ServerProcess) -> None:
    user = server.new_user()
    with server.client() as c:
        r = c.post(f"{U}/login", json={"email": user.email, "passwd": user.password,
                                        "lifetime": LIFETIME})
        assert r.status_code == 200
        token, expires = r.json()["token"], r.json()["expires"]
    with server.client(token) as c:
        assert c.get(f"{U}/users/self").status_code == 200
        sleep_past(expires)
        r = c.get(f"{U}/users/self")
        assert r.status_code == 401
        assert "expired" in r.json()["detail"]


# ------------------------------------------------------------------ self etc.


def test_users_self(plain: User) -> None:
    user = plain
    with user.client() as c:
        me = c.get(f"{U}/users/self").json()
    assert me["id"] == user.id and me["user_id"] == user.id
    assert me["email"] == user.email
    assert me["roles"] == ["user"]
    assert is_iso(me["created"])
    assert "password_hash" not in me and "passwd" not in me


def test_change_password(server: ServerProcess) -> None:
    user = server.new_user()
    with user.client() as c:
        r = c.put(f"{U}/passwd", json={"passwd": "wrong old pw", "newpasswd": "brand new pw"})
        assert r.status_code == 401
        r = c.put(f"{U}/passwd", json={"passwd": user.password, "newpasswd": "short"})
        assert r.status_code == 400 and "passwd" in r.json()["detail"]
        assert c.put(f"{U}/passwd", json={"passwd": user.password}).status_code == 422
        r = c.put(f"{U}/passwd", json={"passwd": user.password, "newpasswd": "brand new pw"})
        assert r.status_code == 200
    with server.client() as c:
        assert c.post(f"{U}/login", json={"email": user.email, "passwd": user.password}
                      ).status_code == 401
        assert c.post(f"{U}/login", json={"email": user.email, "passwd": "brand new pw"}
                      ).status_code == 200


def test_delete_self(server: ServerProcess) -> None:
    user = server.new_user()
    site = user.site()
    with user.client() as c:
        r = c.post("/workqueue/api/v1.0/list", json={"src_siteid": site, "src_filepath": "/"})
        assert r.status_code == 200
        r = c.delete(f"{U}/users/self")
        assert r.status_code == 200
        assert r.json() == {"deleted": user.id}
        assert c.get(f"{U}/users/self").status_code == 401
        assert c.get("/whoami").status_code == 401
    with server.client() as c:
        assert c.post(f"{U}/login", json={"email": user.email, "passwd": user.password}
                      ).status_code == 401
    with server.admin() as c:
        assert c.get(f"{S}/site/{site}").status_code == 404


# -------------------------------------------------------------------- tokens


def test_named_tokens_create_list_revoke(server: ServerProcess, plain: User) -> None:
    user = server.new_user()
    other = plain
    with user.client() as c:
        r = c.post(f"{U}/tokens", json={"name": "ci pipeline", "lifetime": 3600})
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["name"] == "ci pipeline"
        assert isinstance(created["id"], int)
        assert is_iso(created["expires"]) and created["revoked"] is False
        token = created["token"]
        listed = c.get(f"{U}/tokens").json()
        assert created["id"] in [t["id"] for t in listed]
        assert token not in c.get(f"{U}/tokens").text  # a token is shown once only
        for bad in ({"lifetime": 0}, {"lifetime": -5}, {"lifetime": 10**12},
                    {"lifetime": "soon"}, {"name": "x" * 300}):
            assert c.post(f"{U}/tokens", json=bad).status_code in (400, 422), bad
    with server.client(token) as c:
        assert c.get(f"{U}/users/self").json()["id"] == user.id
    with other.client() as c:
        assert c.delete(f"{U}/tokens/{created['id']}").status_code == 404
    with server.client(token) as c:
        assert c.get(f"{U}/users/self").status_code == 200
    with user.client() as c:
        assert c.delete(f"{U}/tokens/{created['id']}").status_code == 200
        assert c.delete(f"{U}/tokens/999999").status_code == 404
        assert c.delete(f"{U}/tokens/{2**40}").status_code in (404, 422)
        revoked = [t for t in c.get(f"{U}/tokens").json() if t["id"] == created["id"]]
        assert revoked[0]["revoked"] is True
    with server.client(token) as c:
        r = c.get(f"{U}/users/self")
        assert r.status_code == 401
        assert "revoked" in r.json()["detail"]
    with user.client() as c:  # the login token is untouched
        assert c.get(f"{U}/users/self").status_code == 200


def test_expired_named_token_is_401(server: ServerProcess, plain: User) -> None:
    user = plain
    with user.client() as c:
        r = c.post(f"{U}/tokens", json={"name": "brief", "lifetime": LIFETIME})
        token, expires = r.json()["token"], r.json()["expires"]
    with server.client(token) as c:
        assert c.get("/whoami").status_code == 200
        sleep_past(expires)
        assert c.get("/whoami").status_code == 401
        assert c.get("/workqueue/api/v1.0/jobs").status_code == 401


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer haul_bogus"}, {"X-Token": "haul_bogus"},
     {"Authorization": "Token abc"}],
)
def test_user_routes_need_a_valid_token(server: ServerProcess, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=server.url, headers=headers) as c:
        for method, path in [("GET", f"{U}/users/self"), ("DELETE", f"{U}/users/self"),
                             ("PUT", f"{U}/passwd"), ("GET", f"{U}/tokens"),
                             ("POST", f"{U}/tokens"), ("DELETE", f"{U}/tokens/1"),
                             ("GET", "/whoami")]:
            r = c.request(method, path, json={"passwd": "a", "newpasswd": "b"})
            assert r.status_code == 401, (method, path, r.status_code)


def test_x_token_header(server: ServerProcess, plain: User) -> None:
    user = plain
    with httpx.Client(base_url=server.url, headers={"X-Token": user.token}) as c:
        assert c.get(f"{U}/users/self").json()["id"] == user.id
        assert c.get("/whoami").json()["user_id"] == user.id


# ----------------------------------------------------------- root routes


def test_whoami_roles_and_credentials(server: ServerProcess, worker_token: str) -> None:
    user = server.new_user()
    with user.client() as c:
        me = c.get("/whoami").json()
        assert me["user_id"] == user.id and me["email"] == user.email
        assert me["roles"] == ["user"]
        assert me["credentials"] == []
        site = c.post(f"{S}/site", json={"site_name": f"who-{uuid.uuid4().hex[:6]}",
                                         "endpoints": ["sftp://sftp.example.org/"]}).json()
        r = c.post(f"{S}/session/{site}", json={"username": "alice", "password": "pw-whoami",
                                                "lifetime": 600})
        assert r.status_code == 200
        me = c.get("/whoami").json()
        (cred,) = me["credentials"]
        assert cred["site_id"] == site
        assert isinstance(cred["site_name"], str)
        assert is_iso(cred["expiry"])
        assert "pw-whoami" not in c.get("/whoami").text
    with server.admin() as c:
        assert "admin" in c.get("/whoami").json()["roles"]
    with server.client(worker_token) as c:  # a worker token is not a user (issue 10 #6)
        r = c.get("/whoami")
        assert r.status_code == 403
        assert r.json()["detail"] == "worker tokens may only use the worker protocol"


def test_endpoint_info_and_hello(server: ServerProcess) -> None:
    with server.client() as c:
        info = c.get("/")
        assert info.status_code == 200
        body = info.json()
        for key in ("core", "api", "schema"):
            version = body[key]
            assert set(version) == {"major", "minor", "patch"}, key
            assert all(isinstance(v, int) and v >= 0 for v in version.values())
        hello = c.get("/hello")
        assert hello.status_code == 200
        assert hello.json()["status"] == "ok"
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer nonsense"}) as c:
        assert c.get("/hello").status_code == 200
