"""Point 18: old attempt logs and listings and expired tokens are pruned; ids are not reused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from haul.store.clock import utcnow
from haul.store.database import Database
from haul.store.migrate import upgrade
from haul.store.tables import Attempt, Element, Job, ListingEntry, Site, Token, User
from tests.harness import ServerProcess, fresh_database, until
from tests.integration.api import S, ScriptedWorker, W, dedicated_server

# About two seconds: long enough to see the output before it goes.
RETENTION_DAYS = 2.5 / 86400


@pytest.fixture(scope="module")
def short_memory(db_url: str, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("retention")
    args = ["--retention-days", str(RETENTION_DAYS), "--housekeeping-seconds", "0.3"]
    with dedicated_server(db_url, home, args) as srv:
        yield srv


def test_old_attempts_listings_and_expired_tokens_are_pruned(short_memory: ServerProcess) -> None:
    owner = short_memory.new_user()
    worker = ScriptedWorker(short_memory, short_memory.new_worker())
    site = owner.site(endpoints=["dummy://ret/"])
    db = Database.connect(short_memory.db_url)
    try:
        with db.write() as s:
            user_id = s.scalar(select(User.id).where(User.email == owner.email))
            s.add(Token(user_id=user_id, name="old", token_hash=uuid.uuid4().hex,
                        expires=utcnow() - timedelta(seconds=1)))
        with owner.client() as c:
            jid = c.post(f"{W}/list", json={"src_siteid": site, "src_filepath": "/r"}).json()["id"]
            token = worker.claim_elements(["LIST"])[(jid, 0)]
            worker.succeed(jid, 0, token, log="listed", listing={"/r": ["a", "b"]})
            assert c.get(f"{W}/jobs/{jid}/elements/0").json()["listing"] == {"/r": [
                {"name": "a", "size": 0, "is_dir": False, "mtime": None},
                {"name": "b", "size": 0, "is_dir": False, "mtime": None}]}
            assert len(c.get(f"{W}/jobs/{jid}/output").json()) == 1

            until(lambda: c.get(f"{W}/jobs/{jid}/output").json() == [], timeout=30,
                  what="the old attempt to be pruned")
            element = c.get(f"{W}/jobs/{jid}/elements/0").json()
            assert element["status"] == "DONE" and element["listing"] is None
            assert c.get(f"{W}/jobs/{jid}/status").json()["status"] == "DONE"  # the job stays
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(ListingEntry)
                            .where(ListingEntry.job_id == jid)) == 0
            assert s.scalar(select(func.count()).select_from(Attempt)
                            .where(Attempt.job_id == jid)) == 0
            assert s.scalar(select(Element.attempt_seq).where(Element.job_id == jid)) == 1
            names = set(s.scalars(select(Token.name).where(Token.user_id == user_id)))
            assert "old" not in names  # expired: gone
            assert names  # the login token, still valid, stays
    finally:
        db.dispose()


def test_deleted_ids_are_not_reused(server: ServerProcess) -> None:
    user = server.new_user()
    first = user.site(endpoints=["dummy://ids/"])
    newest = user.site(endpoints=["dummy://ids/"])
    with user.client() as c:
        assert c.delete(f"{S}/site/{newest}").status_code == 200
        assert user.site(endpoints=["dummy://ids/"]) > newest > first
        jid = c.post(f"{W}/list", json={"src_siteid": first, "src_filepath": "/x"}).json()["id"]
        assert c.post(f"{W}/jobs/{jid}/cancel").status_code == 200
        assert c.delete(f"{W}/jobs/{jid}").status_code == 200
        again = c.post(f"{W}/list", json={"src_siteid": first, "src_filepath": "/x"}).json()["id"]
        assert again > jid
    newest_user = server.new_user()
    with server.client(newest_user.token) as c:
        assert c.delete("/users/api/v1.0/users/self").status_code == 200
    assert server.new_user().id > newest_user.id


def test_upgrade_to_autoincrement_keeps_every_row(db_url: str, tmp_path: Path) -> None:
    """Rebuilding the SQLite tables must not cascade-delete children of the rebuilt parents."""
    with fresh_database(db_url, tmp_path) as url:
        db = Database.connect(url)
        try:
            upgrade(db, "0005")  # the revision before AUTOINCREMENT
            with db.write() as s:
                u = User(email="m@test.org")
                s.add(u)
                s.flush()
                site = Site(name="m", owner_id=u.id)
                s.add(site)
                s.flush()
                job = Job(user_id=u.id, type=0, protocol=2, log_uid="x", src_siteid=site.id)
                s.add(job)
                s.flush()
                s.add(Element(job_id=job.id, id=0, user_id=u.id, type=0))
                s.flush()
                s.add(Attempt(job_id=job.id, element_id=0, attempt=1, status=1))
            upgrade(db)
            with db.read() as s:
                for table in (User, Site, Job, Element, Attempt):
                    assert s.scalar(select(func.count()).select_from(table)) == 1, table
        finally:
            db.dispose()
