"""A fresh, migrated database per test, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from haul.store.database import Database
from haul.store.migrate import upgrade
from tests.conftest import PG_URL, missing
from tests.harness import postgres_database


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database.connect(f"sqlite+pysqlite:///{tmp_path}/bulk.db")
        upgrade(database)
        yield database
        database.dispose()
        return
    if not PG_URL:
        missing("PostgreSQL (HAUL_TEST_POSTGRES_URL)")
    with postgres_database(PG_URL) as url:  # type: ignore[arg-type]
        database = Database.connect(url)
        upgrade(database)
        yield database
        database.dispose()
