"""Shared fixtures: live haul servers on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import ServerProcess, postgres_database

pytest_plugins = ["tests.servers.fixtures"]

PG_URL = os.environ.get("HAUL_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"


def missing(what: str) -> None:
    """A test server that is missing fails under CI and skips elsewhere."""
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true")
    pytest.skip(f"{what} is not available")


@pytest.fixture(scope="session")
def output_dir() -> Path:
    path = Path(__file__).resolve().parent.parent / "test-output"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+pysqlite:///{tmp_path_factory.mktemp('db')}/haul.db"
        return
    if not PG_URL:
        missing("PostgreSQL (HAUL_TEST_POSTGRES_URL)")
    with postgres_database(PG_URL) as url:  # type: ignore[arg-type]
        yield url


@pytest.fixture(scope="session")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One live server per database backend, shared by the API tests."""
    home = tmp_path_factory.mktemp("home")
    roots = tmp_path_factory.mktemp("roots")
    srv = ServerProcess(home=home, db_url=db_url, extra_args=["--file-root", str(roots)])
    srv.file_root = roots  # type: ignore[attr-defined]
    srv.start()
    yield srv
    srv.stop()
