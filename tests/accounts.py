"""Accounts and migrated databases made inside the test process.

Every server a test started used to be preceded by `haul admin add-user
--create` and every worker token by `haul admin add-worker`: each a process
of its own (~1.7 s of CPU: imports, migrations), on a 2-core machine where
the suite is CPU-bound. Here the test process, which has these modules
imported already, migrates one SQLite template per process and copies it,
and writes accounts through the same service functions the CLI calls. The
CLI commands themselves are tested in tests/cli/.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from haul.domain.enums import Role
from haul.services.users import create_user, issue_token
from haul.store.database import Database
from haul.store.migrate import upgrade

TOKEN_SECONDS = 30 * 24 * 3600
_template: list[Path] = []


def _sqlite_path(db_url: str) -> Path | None:
    prefix = "sqlite+pysqlite:///"
    return Path(db_url[len(prefix) :]) if db_url.startswith(prefix) else None


def _migrated_template() -> Path:
    if not _template:
        path = Path(tempfile.mkdtemp(prefix="haul-template-")) / "haul.db"
        db = Database.connect(f"sqlite+pysqlite:///{path}")
        try:
            upgrade(db)
        finally:
            db.dispose()
        _template.append(path)
    return _template[0]


def prepare_database(db_url: str) -> None:
    """Migrates the database, from the template when it is a new SQLite file."""
    path = _sqlite_path(db_url)
    if path is not None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(_migrated_template()) as src, sqlite3.connect(path) as dst:
            src.backup(dst)
        return
    db = Database.connect(db_url)
    try:
        upgrade(db)
    finally:
        db.dispose()


def add_account(db_url: str, email: str, role: Role, name: str | None = None) -> str:
    """Creates an account in the server's database and returns an API token for it."""
    db = Database.connect(db_url)
    try:
        with db.write() as session:
            user = create_user(session, email, None, role=role.value, name=name)
            token, _ = issue_token(session, user, role.value, TOKEN_SECONDS)
    finally:
        db.dispose()
    return token
