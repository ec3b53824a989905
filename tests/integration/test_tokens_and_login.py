"""Token rules and login throttling (issue 10, points 11 and 12), over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.harness import ServerProcess
from tests.integration.api import U, dedicated_server

FIVE_YEARS = 5 * 365 * 24 * 3600 - 1


def login(
    srv: ServerProcess, email: str, password: str, address: str = "127.0.0.1", **extra: object
) -> httpx.Response:
    """A login from ``address`` (any 127.x address reaches the loopback server)."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=srv.url, transport=transport, timeout=30) as c:
        return c.post(f"{U}/login", json={"email": email, "passwd": password, **extra})


def test_a_password_change_revokes_the_other_tokens(server: ServerProcess) -> None:
    user = server.new_user()
    second = login(server, user.email, user.password).json()["token"]
    with user.client() as c:
        made = c.post(f"{U}/tokens", json={"name": "script", "lifetime": 3600})
        assert made.status_code == 201, made.text
        minted = made.json()["token"]
        r = c.put(f"{U}/passwd", json={"passwd": user.password, "newpasswd": "a-new-password"})
        assert r.status_code == 200, r.text
        assert r.json()["revoked_tokens"] == 2
        assert c.get("/whoami").status_code == 200  # the token that made the change stays
    for old in (second, minted):
        with server.client(old) as c:
            r = c.get("/whoami")
            assert r.status_code == 401 and r.json()["detail"] == "invalid or revoked token"
    assert login(server, user.email, user.password).status_code == 401
    assert login(server, user.email, "a-new-password").status_code == 200


def test_a_token_cannot_mint_one_that_outlives_it(server: ServerProcess) -> None:
    user = server.new_user()
    short = login(server, user.email, user.password, lifetime=3600).json()
    with server.client(short["token"]) as c:
        r = c.post(f"{U}/tokens", json={"name": "forever", "lifetime": FIVE_YEARS})
        assert r.status_code == 400
        assert "cannot create one that outlives it" in r.json()["detail"]
        assert "at most" in r.json()["detail"]
        # Without a lifetime, the default is cut down to what the token has left.
        r = c.post(f"{U}/tokens", json={"name": "default"})
        assert r.status_code == 201, r.text
        made = datetime.fromisoformat(r.json()["expires"])
        assert made <= datetime.fromisoformat(short["expires"])
        r = c.post(f"{U}/tokens", json={"name": "shorter", "lifetime": 600})
        assert r.status_code == 201, r.text
    with server.admin() as c:  # admins are exempt
        r = c.post(f"{U}/tokens", json={"name": "long", "lifetime": FIVE_YEARS})
        assert r.status_code == 201, r.text


def test_logging_out_of_the_dashboard_revokes_its_token(server: ServerProcess) -> None:
    """The dashboard's own token, in its cookie, stops working at logout; the API
    token that signed in is left alone."""
    user = server.new_user()
    with httpx.Client(base_url=server.url, timeout=30) as web:
        r = web.post("/web/login", data={"api_token": user.token})
        assert r.status_code == 303, r.text
        cookie = r.cookies["haul_token"]
        assert cookie != user.token
        web.cookies.clear()  # each request below says which cookie it carries
        session = {"Cookie": f"haul_token={cookie}"}
        assert web.get("/web/jobs", headers=session).status_code == 200
        r = web.post("/web/logout", headers=session)
        assert r.status_code == 303 and r.headers["location"] == "/web/login"
        r = web.get("/web/jobs", headers=session)
        assert r.status_code == 303 and r.headers["location"].startswith("/web/login")
        # An unknown or missing cookie is no session to end: logout just signs out.
        assert web.post("/web/logout", headers={"Cookie": "haul_token=x"}).status_code == 303
    with server.client(cookie) as c:
        assert c.get("/whoami").status_code == 401
    with user.client() as c:
        assert c.get("/whoami").status_code == 200


@pytest.fixture()
def throttled(db_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of its own: failed logins here must not throttle other tests' server."""
    with dedicated_server(db_url, tmp_path / "home") as srv:
        yield srv


def test_failed_logins_are_throttled_per_account_and_per_address(
    throttled: ServerProcess,
) -> None:
    victim, bystander = throttled.new_user(), throttled.new_user()
    for _ in range(10):
        assert login(throttled, victim.email, "wrong-password", "127.0.0.2").status_code == 401
    # The account waits, from any address, with the right password too.
    for password, address in (("wrong-password", "127.0.0.2"), (victim.password, "127.0.0.3")):
        r = login(throttled, victim.email, password, address)
        assert r.status_code == 429, r.text
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert "too many failed logins for this account" in r.json()["detail"]
    r = httpx.post(f"{throttled.url}/web/login",
                   data={"email": victim.email, "passwd": victim.password})
    assert r.status_code == 429 and "Retry-After" in r.headers
    # Guessing many accounts from one address: the address waits too...
    for _ in range(10):
        guess = login(throttled, f"nobody-{uuid.uuid4().hex[:6]}@test.org", "guess", "127.0.0.4")
        assert guess.status_code == 401
    r = login(throttled, bystander.email, bystander.password, "127.0.0.4")
    assert r.status_code == 429 and "for this address" in r.json()["detail"]
    # ...and other addresses are not slowed by its failures.
    assert login(throttled, bystander.email, bystander.password, "127.0.0.5").status_code == 200
