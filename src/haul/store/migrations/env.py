"""Alembic environment: runs on the engine haul hands it (see haul.store.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from haul.store import tables_queue  # noqa: F401  (registers the queue tables on Base)
from haul.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    engine = config.attributes.get("engine") or create_engine(
        config.get_main_option("sqlalchemy.url") or ""
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run()
