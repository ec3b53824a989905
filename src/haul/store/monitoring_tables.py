"""Tables that watch the queue: load samples and what workers were last seen doing.

They live apart from ``tables.py`` because nothing in the engine reads them:
they are written beside the engine's own writes (a sampler tick, a worker's
claim, heartbeat or result) and read only by the load, workers and metrics
routes. Losing them loses history, never work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from haul.store.clock import utcnow
from haul.store.tables import Base

# SQLite only autoincrements an INTEGER PRIMARY KEY, not a BIGINT one.
BigId = BigInteger().with_variant(Integer, "sqlite")


class LoadSample(Base):
    """One job type's counts at one sampler tick; every row of a tick shares its time."""

    __tablename__ = "load_samples"
    __table_args__ = (Index("ix_load_samples_time_type", "time", "job_type_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    time: Mapped[datetime]
    job_type_id: Mapped[int] = mapped_column(Integer)
    pending_count: Mapped[int] = mapped_column(Integer, default=0)
    queued_count: Mapped[int] = mapped_column(Integer, default=0)
    running_count: Mapped[int] = mapped_column(Integer, default=0)


class WorkerActivity(Base):
    """A worker account's latest contact, and what it last asked to be given."""

    __tablename__ = "worker_activity"
    worker_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_claim: Mapped[datetime | None] = mapped_column(nullable=True)
    last_heartbeat: Mapped[datetime | None] = mapped_column(nullable=True)
    last_result: Mapped[datetime | None] = mapped_column(nullable=True)
    types: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    protocols: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    host: Mapped[str] = mapped_column(String(255), default="")
    claimed: Mapped[int] = mapped_column(BigInteger, default=0)
    finished: Mapped[int] = mapped_column(BigInteger, default=0)


class WorkerTransfer(Base):
    """The byte count last reported for a leased element, so the next report adds a delta."""

    __tablename__ = "worker_transfers"
    __table_args__ = (
        ForeignKeyConstraint(
            ["job_id", "element_id"], ["elements.job_id", "elements.id"], ondelete="CASCADE"
        ),
    )
    job_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    element_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    worker_id: Mapped[int] = mapped_column(Integer)
    transferred: Mapped[int] = mapped_column(BigInteger, default=0)
    updated: Mapped[datetime] = mapped_column(default=utcnow)


class WorkerBytes(Base):
    """Bytes a worker moved between two reports; rows older than a few minutes are pruned."""

    __tablename__ = "worker_bytes"
    __table_args__ = (Index("ix_worker_bytes_worker_time", "worker_id", "time"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    worker_id: Mapped[int] = mapped_column(Integer)
    time: Mapped[datetime] = mapped_column(default=utcnow)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
