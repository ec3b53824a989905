"""Work notices between server processes sharing one PostgreSQL (store/work_notices.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from haul.store.database import Database
from haul.store.work_notices import WorkNotices, _conninfo

WAIT = 15.0  # generous: a notice that never comes fails the test, a late one does not


class Heard:
    """Counts the notices one process hears, and lets a test wait for the next."""

    def __init__(self) -> None:
        self.count = 0
        self._cond = threading.Condition()

    def __call__(self) -> None:
        with self._cond:
            self.count += 1
            self._cond.notify_all()

    def more_than(self, n: int) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.count > n, WAIT)


@contextmanager
def process(url: str) -> Iterator[tuple[WorkNotices, Heard]]:
    heard = Heard()
    notices = WorkNotices(url, heard)
    notices.start()
    try:
        assert heard.more_than(0)  # one notice on (re)connecting: nothing missed meanwhile
        yield notices, heard
    finally:
        notices.stop()


def test_one_process_announcing_wakes_the_other_not_itself(pg_db: Database) -> None:
    with process(pg_db.url) as (a, heard_a), process(pg_db.url) as (b, heard_b):
        before = heard_a.count
        for _ in range(5):  # a burst: coalesced, but heard
            b.announce()
        assert heard_a.more_than(before)
        # b's own notice was delivered to b's listener before a's next one
        # (one connection hears notices in commit order): b counts only a's.
        own = heard_b.count
        a.announce()
        assert heard_b.more_than(own)
        assert heard_b.count == own + 1


def test_notices_survive_a_lost_connection(pg_db: Database) -> None:
    with process(pg_db.url) as (_a, heard_a), process(pg_db.url) as (b, _heard_b):
        with psycopg.connect(_conninfo(pg_db.url), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'haul work notices' AND datname = current_database()"
            )
        before = heard_a.count
        b.announce()  # the sender and the listener both come back on their own
        assert heard_a.more_than(before)
        before = heard_a.count
        b.announce()
        assert heard_a.more_than(before)


def test_a_restart_runs_one_sender_and_one_listener(pg_db: Database) -> None:
    notices = WorkNotices(pg_db.url, Heard())
    notices.start()
    first = list(notices._threads)
    notices.start()  # without a stop: the first pair is stopped, not left running
    notices.stop()
    notices.start()
    try:
        for t in first:
            t.join(WAIT)
            assert not t.is_alive()
        assert len(notices._threads) == 2 and all(t.is_alive() for t in notices._threads)
    finally:
        notices.stop()
