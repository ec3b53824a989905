"""A fresh, migrated database per test, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from haul.store.database import Database
from haul.store.migrate import upgrade
from tests.conftest import PG_URL, missing
from tests.harness import postgres_database


@contextmanager
def _migrated(url: str) -> Iterator[Database]:
    database = Database.connect(url)
    upgrade(database)
    try:
        yield database
    finally:
        database.dispose()


@contextmanager
def _fresh_postgres() -> Iterator[Database]:
    if not PG_URL:
        missing("PostgreSQL (HAUL_TEST_POSTGRES_URL)")
    with postgres_database(PG_URL) as url, _migrated(url) as database:  # type: ignore[arg-type]
        yield database


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        with _migrated(f"sqlite+pysqlite:///{tmp_path}/store.db") as database:
            yield database
        return
    with _fresh_postgres() as database:
        yield database


@pytest.fixture
def pg_db() -> Iterator[Database]:
    """PostgreSQL only, for what cannot happen on SQLite (one writer at a time)."""
    with _fresh_postgres() as database:
        yield database
