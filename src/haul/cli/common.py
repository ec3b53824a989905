"""Options the server-side commands share: where the state lives.

`haul server`, `haul run` and `haul db upgrade` create a database when there
is none: starting a server is how one is made. `haul admin ...` commands do
not: run in the wrong directory, they used to make a fresh ``./.haul`` and
print a token the running server refuses. They open only an existing
database unless told to create one (``haul admin init``, or ``--create``),
and say on stderr which home and database they used.

The database modules are imported inside the functions: every client command
imports this module, and SQLAlchemy alone is ~0.3 s of its start-up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from haul.config import Settings
    from haul.store.database import Database

HomeOpt = Annotated[
    str | None, typer.Option("--home", help="haul home directory (default ./.haul or $HAUL_HOME)")
]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="database URL (default SQLite at <home>/haul.db, or $HAUL_DB_URL)"),
]
CreateOpt = Annotated[
    bool,
    typer.Option("--create", help="create the home and database if there is none (see admin init)"),
]


def open_store(home: str | None, db_url: str | None) -> tuple[Settings, Database]:
    """Opens (creating if need be) and migrates the database: servers and `haul db`."""
    from haul.config import Settings
    from haul.store.database import Database
    from haul.store.migrate import upgrade

    settings = Settings.resolve(home, db_url)
    db = Database.connect(settings.db_url)
    upgrade(db)
    return settings, db


@dataclass(frozen=True)
class Where:
    """Which home and database a command would use, and why (flag, environment, default)."""

    home: Path
    home_from: str
    db_url: str
    db_from: str

    def describe(self) -> str:
        from sqlalchemy.engine import make_url

        try:
            shown = make_url(self.db_url).render_as_string(hide_password=True)
        except Exception:  # a bad URL is reported when it is opened
            shown = self.db_url
        return f"haul home {self.home} ({self.home_from}); database {shown} ({self.db_from})"


def where(home: str | None, db_url: str | None) -> Where:
    """Settings.resolve's choice, worked out without creating anything."""
    from haul.config import DEFAULT_HOME
    from haul.store.database import sqlite_url_for

    if home:
        home_from = "--home"
    elif os.environ.get("HAUL_HOME"):
        home_from = "$HAUL_HOME"
    else:
        home_from = f"default {DEFAULT_HOME} in {Path.cwd()}"
    home_path = Path(home or os.environ.get("HAUL_HOME") or DEFAULT_HOME).resolve()
    if db_url:
        url, db_from = db_url, "--db"
    elif os.environ.get("HAUL_DB_URL"):
        url, db_from = os.environ["HAUL_DB_URL"], "$HAUL_DB_URL"
    else:
        url, db_from = sqlite_url_for(str(home_path / "haul.db")), "in the home"
    return Where(home_path, home_from, url, db_from)


def _has_schema(db: Database) -> bool:
    from sqlalchemy import inspect

    return inspect(db.engine).has_table("alembic_version")


def open_admin_store(
    home: str | None, db_url: str | None, *, create: bool = False
) -> tuple[Settings, Database]:
    """An existing database (a new one only with ``create``), named on stderr."""
    from haul.config import Settings, sqlite_file
    from haul.store.database import Database
    from haul.store.migrate import upgrade

    w = where(home, db_url)
    missing = False
    file = sqlite_file(w.db_url)
    if file is not None:
        missing = not file.exists() or file.stat().st_size == 0
    if missing and not create:
        _refuse(w)
    settings = Settings.resolve(home, db_url)
    db = Database.connect(settings.db_url)
    if not create and file is None and not _has_schema(db):
        db.dispose()
        _refuse(w)
    upgrade(db)
    typer.echo(("created " if missing else "using ") + w.describe(), err=True)
    return settings, db


def _refuse(w: Where) -> None:
    typer.echo(
        f"error: no haul database there: {w.describe()}.\n"
        "Run the command with the server's home (--home DIR or $HAUL_HOME; `make run` keeps "
        "its state in the repository's .haul) or its database (--db URL), or create a new "
        "one with `haul admin init` (or --create).",
        err=True,
    )
    raise typer.Exit(1)
