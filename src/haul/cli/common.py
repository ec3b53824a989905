"""Options the server-side commands share: where the state lives."""

from __future__ import annotations

from typing import Annotated

import typer

from haul.config import Settings
from haul.store.database import Database

HomeOpt = Annotated[
    str | None, typer.Option("--home", help="haul home directory (default ./.haul or $HAUL_HOME)")
]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="database URL (default SQLite at <home>/haul.db, or $HAUL_DB_URL)"),
]


def open_store(home: str | None, db_url: str | None) -> tuple[Settings, Database]:
    from haul.store.migrate import upgrade

    settings = Settings.resolve(home, db_url)
    db = Database.connect(settings.db_url)
    upgrade(db)
    return settings, db
