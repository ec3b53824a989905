"""SQLite tables never reuse an id (AUTOINCREMENT); indexes for retention

Without AUTOINCREMENT, SQLite gives a new row the largest id plus one, so
deleting the newest site, user or job hands its id to the next one: old
references (a client's saved job id, a log line, another user's
bookmark) would then name something else. PostgreSQL sequences never
reuse values, so this part changes nothing there. Retention finds old
attempts and expired tokens by two new indexes (both databases).

Each table is rebuilt (SQLite cannot alter a table's primary key); env.py
turns foreign keys off while migrations run, so rebuilding a parent table
does not cascade into its children.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 18:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table whose integer id users or clients see.
TABLES = ("users", "tokens", "sites", "site_endpoints", "credentials", "job_types", "jobs", "bans")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(True)
    op.create_index("ix_attempts_ended", "attempts", ["ended"])
    op.create_index("ix_tokens_expires", "tokens", ["expires"])


def downgrade() -> None:
    op.drop_index("ix_tokens_expires", table_name="tokens")
    op.drop_index("ix_attempts_ended", table_name="attempts")
    _rebuild(False)
