"""`haul db upgrade` builds the schema on an empty database and is idempotent.

Runs on SQLite and, when HAUL_TEST_POSTGRES_URL is set, on a throw-away
PostgreSQL database. Also checks that the migrations produce exactly the
schema the models describe (no drift between tables.py and the revisions).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import haul.store
from haul.store.database import Database, make_engine
from haul.store.migrate import head_revision
from haul.store.tables import Base
from tests.conftest import missing
from tests.harness import postgres_database, run_cli


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+pysqlite:///{tmp_path}/fresh.db"
        return
    base = os.environ.get("HAUL_TEST_POSTGRES_URL")
    if not base:
        missing("PostgreSQL (HAUL_TEST_POSTGRES_URL)")
    with postgres_database(base) as url:  # type: ignore[arg-type]
        yield url


def snapshot(url: str) -> dict[str, Any]:
    """Everything about the schema a migration could change, in comparable form."""
    engine = make_engine(url)
    try:
        insp = inspect(engine)
        tables: dict[str, Any] = {}
        for table in sorted(insp.get_table_names()):
            tables[table] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                    for c in insp.get_columns(table)
                ],
                "pk": insp.get_pk_constraint(table).get("constrained_columns"),
                "indexes": sorted(
                    (i["name"] or "", tuple(i["column_names"]), bool(i["unique"]))
                    for i in insp.get_indexes(table)
                ),
                "unique": sorted(
                    (u["name"] or "", tuple(u["column_names"]))
                    for u in insp.get_unique_constraints(table)
                ),
                "fks": sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"],
                     tuple(f["referred_columns"]), str(f.get("options")))
                    for f in insp.get_foreign_keys(table)
                ),
            }
        with engine.connect() as conn:
            versions = sorted(r[0] for r in conn.execute(text("SELECT version_num "
                                                              "FROM alembic_version")))
        return {"tables": tables, "alembic_version": versions}
    finally:
        engine.dispose()


def all_models() -> None:
    """Imports every table module so Base.metadata is complete (as env.py does)."""
    for mod in pkgutil.iter_modules(haul.store.__path__):
        if mod.name == "tables" or mod.name.startswith("tables_"):
            importlib.import_module(f"haul.store.{mod.name}")


def test_upgrade_empty_then_again_changes_nothing(empty_db: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    engine = create_engine(empty_db)
    assert inspect(engine).get_table_names() == []
    engine.dispose()

    head = head_revision(Database.connect(empty_db))
    assert head

    first = run_cli("db", "upgrade", "--home", str(home), "--db", empty_db)
    assert first.stdout.strip().splitlines()[-1] == f"database at revision {head}"
    after_first = snapshot(empty_db)
    assert after_first["alembic_version"] == [head]
    for table in ("users", "tokens", "sites", "site_endpoints", "credentials", "jobs",
                  "elements", "attempts", "listing_entries", "job_types", "bans"):
        assert table in after_first["tables"], table

    second = run_cli("db", "upgrade", "--home", str(home), "--db", empty_db)
    assert second.stdout.strip().splitlines()[-1] == f"database at revision {head}"
    assert snapshot(empty_db) == after_first

    # The revisions build exactly what the models describe.
    all_models()
    engine = make_engine(empty_db)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], diff


def test_upgrade_keeps_data(empty_db: str, tmp_path: Path) -> None:
    """Upgrading a database in use keeps its rows (the server upgrades at every start)."""
    home = tmp_path / "home"
    out = run_cli("admin", "add-user", "keep@test.org", "--home", str(home), "--db", empty_db,
                  "--create")
    assert out.stdout.strip().splitlines()[-1].startswith("haul_")
    run_cli("db", "upgrade", "--home", str(home), "--db", empty_db)
    engine = make_engine(empty_db)
    try:
        with engine.connect() as conn:
            emails = [r[0] for r in conn.execute(text("SELECT email FROM users"))]
            tokens = conn.execute(text("SELECT count(*) FROM tokens")).scalar_one()
    finally:
        engine.dispose()
    assert emails == ["keep@test.org"]
    assert tokens == 1
