"""queue stats: load samples and worker activity

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 16:34:43.442401
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "load_samples",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("time", WHEN, nullable=False),
        sa.Column("job_type_id", sa.Integer(), nullable=False),
        sa.Column("pending_count", sa.Integer(), nullable=False),
        sa.Column("queued_count", sa.Integer(), nullable=False),
        sa.Column("running_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_load_samples")),
    )
    op.create_index("ix_load_samples_time_type", "load_samples", ["time", "job_type_id"])
    op.create_table(
        "worker_bytes",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("time", WHEN, nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_bytes")),
    )
    op.create_index("ix_worker_bytes_worker_time", "worker_bytes", ["worker_id", "time"])
    op.create_table(
        "worker_activity",
        sa.Column("worker_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("first_seen", WHEN, nullable=False),
        sa.Column("last_seen", WHEN, nullable=False),
        sa.Column("last_claim", WHEN, nullable=True),
        sa.Column("last_heartbeat", WHEN, nullable=True),
        sa.Column("last_result", WHEN, nullable=True),
        sa.Column("types", sa.JSON(), nullable=True),
        sa.Column("protocols", sa.JSON(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("claimed", sa.BigInteger(), nullable=False),
        sa.Column("finished", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["users.id"],
            name=op.f("fk_worker_activity_worker_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_worker_activity")),
    )
    op.create_table(
        "worker_transfers",
        sa.Column("job_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("element_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("transferred", sa.BigInteger(), nullable=False),
        sa.Column("updated", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id", "element_id"],
            ["elements.job_id", "elements.id"],
            name=op.f("fk_worker_transfers_job_id_elements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "element_id", name=op.f("pk_worker_transfers")),
    )


def downgrade() -> None:
    op.drop_table("worker_transfers")
    op.drop_table("worker_activity")
    op.drop_index("ix_worker_bytes_worker_time", table_name="worker_bytes")
    op.drop_table("worker_bytes")
    op.drop_index("ix_load_samples_time_type", table_name="load_samples")
    op.drop_table("load_samples")
