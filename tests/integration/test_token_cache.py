"""The auth gate's memory of good tokens (server/token_cache.py): a revocation or ban
made through the server is obeyed by the very next request, and a remembered
answer lives at most TTL_SECONDS."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import update

from haul.server.token_cache import TokenCache, new_cache
from haul.services.users import Authenticated
from haul.store.clock import utcnow
from haul.store.database import Database
from haul.store.migrate import upgrade
from haul.store.tables import User as UserRow
from tests.harness import ServerProcess
from tests.integration.api import U, W


def _auth(expires_in: float | None = 3600) -> Authenticated:
    expires = None if expires_in is None else utcnow() + timedelta(seconds=expires_in)
    return Authenticated(UserRow(id=1, email="a@b", role="user"), 7, expires)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_remembered_answer_lives_at_most_the_ttl() -> None:
    clock = FakeClock()
    cache = TokenCache(ttl=1.0, clock=clock)
    found = _auth()
    cache.put("tok", found, cache.generation)
    assert cache.get("tok") is found
    assert cache.get("other") is None
    clock.now += 0.99
    assert cache.get("tok") is found
    clock.now += 0.02
    assert cache.get("tok") is None  # looked up again after the TTL


def test_an_answer_read_before_an_auth_change_is_not_kept() -> None:
    cache = TokenCache(clock=FakeClock())
    generation = cache.generation  # a lookup starts ...
    cache.invalidate()  # ... a revocation commits meanwhile ...
    cache.put("tok", _auth(), generation)  # ... and its (old) answer is dropped
    assert cache.get("tok") is None
    cache.put("tok", _auth(), cache.generation)
    assert cache.get("tok") is not None
    cache.invalidate()
    assert cache.get("tok") is None


def test_an_expired_token_is_not_answered_from_memory() -> None:
    cache = TokenCache(clock=FakeClock())
    cache.put("tok", _auth(expires_in=-1), cache.generation)
    assert cache.get("tok") is None


def test_the_ttl_runs_from_when_the_lookup_began() -> None:
    clock = FakeClock()
    cache = TokenCache(ttl=1.0, clock=clock)
    began = clock.now
    clock.now += 0.6  # a slow lookup: a change committed elsewhere meanwhile ...
    cache.put("tok", _auth(), cache.generation, read_at=began)
    clock.now += 0.41
    assert cache.get("tok") is None  # ... is obeyed 1 s after the rows were read


def test_a_savepoint_rolled_back_does_not_hide_the_outer_auth_change(tmp_path: Path) -> None:
    db = Database.connect(f"sqlite+pysqlite:///{tmp_path}/h.db")
    upgrade(db)
    cache = new_cache()
    cache.put("tok", _auth(), cache.generation)
    with db.write() as session:
        session.execute(update(UserRow).where(UserRow.id == 1).values(banned=True))
        with contextlib.suppress(RuntimeError), session.begin_nested():
            raise RuntimeError("an inner step fails and its savepoint rolls back")
    assert cache.get("tok") is None  # the ban committed: the cache was emptied
    db.dispose()


def _mint(c: httpx.Client, lifetime: int = 60) -> httpx.Response:
    """A request with a body: the gate checks (and remembers) its token."""
    return c.post(f"{U}/tokens", json={"name": "probe", "lifetime": lifetime})


def test_a_revoked_token_is_refused_by_the_next_request(server: ServerProcess) -> None:
    user = server.new_user()
    with user.client() as c:
        made = _mint(c, 3600)
        assert made.status_code == 201, made.text
        second, second_id = made.json()["token"], made.json()["id"]
    with server.client(second) as c2:
        assert _mint(c2).status_code == 201  # remembered now
        with user.client() as c:
            assert c.delete(f"{U}/tokens/{second_id}").status_code == 200
        r = _mint(c2)
        assert r.status_code == 401 and r.json()["detail"] == "invalid or revoked token"


def test_a_password_change_is_obeyed_by_the_next_request(server: ServerProcess) -> None:
    user = server.new_user()
    with user.client() as c:
        second = _mint(c, 3600).json()["token"]
        with server.client(second) as c2:
            assert _mint(c2).status_code == 201  # remembered now
            r = c.put(f"{U}/passwd", json={"passwd": user.password, "newpasswd": "another-pw-1"})
            assert r.status_code == 200, r.text
            assert _mint(c2).status_code == 401  # revoked by the change (a bulk UPDATE)
        assert _mint(c).status_code == 201  # the token that made the change stays


def test_a_banned_user_is_refused_by_the_next_request(server: ServerProcess) -> None:
    user = server.new_user()
    with user.client() as c:
        assert _mint(c).status_code == 201
        with server.admin() as ac:
            r = ac.post(f"{W}/ban/dn", json={"user": user.email})
            assert r.status_code == 200, r.text
        r = _mint(c)
        assert r.status_code == 401 and "banned" in r.json()["detail"]
        with server.admin() as ac:
            r = ac.delete(f"{W}/ban/dn", params={"user": user.email})
            assert r.status_code == 200, r.text
        assert _mint(c).status_code == 201  # a refusal is never remembered
