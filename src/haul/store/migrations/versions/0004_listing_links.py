"""listing entries record symbolic links

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("listing_entries") as batch_op:
        batch_op.add_column(
            sa.Column("is_link", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("listing_entries") as batch_op:
        batch_op.drop_column("is_link")
