"""The namespace lane's partial index: queued LIST, MKDIR, RENAME, one-path REMOVE

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported from haul.domain.lanes: a migration keeps the
# schema it made even if the rule changes later (a change gets a migration).
LANE = "status = 0 AND (type IN (0, 3, 4) OR (type = 2 AND id = 1))"


def upgrade() -> None:
    with op.batch_alter_table("elements") as batch_op:
        batch_op.create_index(
            "ix_elements_lane",
            ["status", "priority", "user_id", "job_id", "id"],
            unique=False,
            sqlite_where=sa.text(LANE),
            postgresql_where=sa.text(LANE),
        )


def downgrade() -> None:
    with op.batch_alter_table("elements") as batch_op:
        batch_op.drop_index("ix_elements_lane")
