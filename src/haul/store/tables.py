"""The relational schema. Alembic migrations under ``migrations/`` create it.

JSON columns hold structured options; nothing is pickled. Listings live one
row per entry in ``listing_entries`` so a directory of 100,000 files never
becomes one huge row, and can be paged and expanded in batches.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from haul.domain.enums import BanAction, Role
from haul.domain.lanes import namespace_sql
from haul.domain.limits import MAX_TRIES, PRIORITY
from haul.store.clock import utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# SQLite: a deleted row's id is never given to a new one (revision 0006).
NO_REUSE = {"sqlite_autoincrement": True}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class User(Base):
    __tablename__ = "users"
    __table_args__ = NO_REUSE
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    role: Mapped[str] = mapped_column(String(16), default=Role.USER.value)  # a Role
    banned: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(default=utcnow)


class Token(Base):
    __tablename__ = "tokens"
    __table_args__ = NO_REUSE
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    expires: Mapped[datetime] = mapped_column(index=True)  # retention finds expired ones
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Site(Base):
    __tablename__ = "sites"
    __table_args__ = NO_REUSE
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    def_path: Mapped[str] = mapped_column(String(4096), default="/")
    requires_credential: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    # SFTP: the server's host key, set by the owner or pinned on first use.
    host_key: Mapped[str | None] = mapped_column(Text, nullable=True, default=None)


class SiteEndpoint(Base):
    __tablename__ = "site_endpoints"
    __table_args__ = NO_REUSE
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    scheme: Mapped[str] = mapped_column(String(16))


class Credential(Base):
    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("user_id", "site_id"), NO_REUSE)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    secret: Mapped[bytes] = mapped_column(LargeBinary)  # Fernet ciphertext of a JSON object
    username: Mapped[str] = mapped_column(String(200), default="")
    created: Mapped[datetime] = mapped_column(default=utcnow)
    expires: Mapped[datetime]


class JobTypeRow(Base):
    __tablename__ = "job_types"
    __table_args__ = (UniqueConstraint("name", "version"), NO_REUSE)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50), default="1")
    title: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(100), default="")
    priority: Mapped[int] = mapped_column(Integer, default=PRIORITY.default)
    max_tries: Mapped[int] = mapped_column(Integer, default=MAX_TRIES.default)
    timeout: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    max_scheduled: Mapped[int | None] = mapped_column(Integer, nullable=True)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_user_id_id", "user_id", "id"),
        UniqueConstraint("user_id", "submission_id"),
        NO_REUSE,
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[int] = mapped_column(Integer)
    type_name: Mapped[str | None] = mapped_column(String(100), nullable=True)  # custom types
    src_siteid: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="SET NULL"), nullable=True
    )
    dst_siteid: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="SET NULL"), nullable=True
    )
    src_filepath: Mapped[str | None] = mapped_column(Text, nullable=True)
    dst_filepath: Mapped[str | None] = mapped_column(Text, nullable=True)
    extra_opts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=PRIORITY.default)
    protocol: Mapped[int] = mapped_column(Integer)
    max_tries: Mapped[int] = mapped_column(Integer, default=MAX_TRIES.default)
    log_uid: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[datetime] = mapped_column(default=utcnow)
    ended: Mapped[datetime | None] = mapped_column(nullable=True)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # Elements of a later stage wait until every earlier one is finished.
    stage: Mapped[int] = mapped_column(Integer, default=0)
    expanded: Mapped[bool] = mapped_column(Boolean, default=False)
    submission_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    meta: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON, nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    recover: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Element(Base):
    __tablename__ = "elements"
    __table_args__ = (
        # The claim query walks this index: claimable elements by priority and age.
        Index("ix_elements_claim", "status", "priority", "user_id", "job_id", "id"),
        # The namespace lane (services/namespace_lane.py): the same columns over
        # queued namespace operations only, so finding them costs what the lane holds.
        Index(
            "ix_elements_lane",
            "status",
            "priority",
            "user_id",
            "job_id",
            "id",
            sqlite_where=text(namespace_sql()),
            postgresql_where=text(namespace_sql()),
        ),
        Index("ix_elements_lease", "status", "lease_expires"),
        # Job bookkeeping asks "is anything of this job still active at stage S?".
        Index("ix_elements_job_status", "job_id", "status", "stage"),
    )
    job_id: Mapped[int] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(Integer)  # denormalised for fair share
    type: Mapped[int] = mapped_column(Integer)
    status: Mapped[int] = mapped_column(Integer, default=0)
    priority: Mapped[int] = mapped_column(Integer, default=PRIORITY.default)
    src_filepath: Mapped[str | None] = mapped_column(Text, nullable=True)
    dst_filepath: Mapped[str | None] = mapped_column(Text, nullable=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    max_tries: Mapped[int] = mapped_column(Integer, default=MAX_TRIES.default)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # tries of the current budget
    attempt_seq: Mapped[int] = mapped_column(Integer, default=0)  # numbers every attempt ever
    timestamp: Mapped[datetime] = mapped_column(default=utcnow)
    not_before: Mapped[datetime | None] = mapped_column(nullable=True)
    lease_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires: Mapped[datetime | None] = mapped_column(nullable=True)
    worker_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # None is SQL NULL, not JSON null: a job read asks for the leased elements
    # that reported progress (`IS NOT NULL`), and a claim clears it for
    # thousands of claimed-ahead elements at once (JSON null made every one of
    # them match, ~100 ms per read of a 10,000-file job). Rows written as JSON
    # null before read back as None all the same.
    progress: Mapped[dict[str, Any] | None] = mapped_column(
        JSON(none_as_null=True), nullable=True
    )
    command: Mapped[str | None] = mapped_column(String(250), nullable=True)
    checksum: Mapped[str | None] = mapped_column(String(200), nullable=True)
    stage: Mapped[int] = mapped_column(Integer, default=0)
    started: Mapped[datetime | None] = mapped_column(nullable=True)
    # None: the operation itself; "verify": a recover check of a COPY's
    # destination; "overwrite": a re-copy that replaces what the check found.
    mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # A file listed in a job's ``files``: {"checksum": "algo:hex", "filesize": n,
    # "metadata": {...}}, what its source must match (domain/file_lists.py).
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Attempt(Base):
    __tablename__ = "attempts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["job_id", "element_id"], ["elements.job_id", "elements.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("job_id", "element_id", "attempt"),
        Index("ix_attempts_ended", "ended"),  # retention finds old attempts by age
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(Integer)
    element_id: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[int] = mapped_column(Integer)
    returncode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    host: Mapped[str] = mapped_column(String(255), default="")
    log: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    checksum: Mapped[str | None] = mapped_column(String(200), nullable=True)
    started: Mapped[datetime | None] = mapped_column(nullable=True)
    ended: Mapped[datetime] = mapped_column(default=utcnow)


class ListingEntry(Base):
    __tablename__ = "listing_entries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["job_id", "element_id"], ["elements.job_id", "elements.id"], ondelete="CASCADE"
        ),
        Index("ix_listing_entries_element", "job_id", "element_id", "attempt", "seq"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job_id: Mapped[int] = mapped_column(Integer)
    element_id: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    directory: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    is_dir: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    mtime: Mapped[float | None] = mapped_column(nullable=True)
    # A symbolic link, listed as itself: never a directory, never walked into.
    is_link: Mapped[bool] = mapped_column(Boolean, server_default=false())


class Ban(Base):
    __tablename__ = "bans"
    __table_args__ = (UniqueConstraint("kind", "target"), NO_REUSE)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # se | dn
    target: Mapped[str] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(16), default=BanAction.CANCEL.value)
    timeout: Mapped[int | None] = mapped_column(Integer, nullable=True)
    allow_submit: Mapped[bool] = mapped_column(Boolean, default=False)
    message: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)


class Upload(Base):
    """A small file a user sent to the server (PanDA's putFile), usable as a COPY source."""

    __tablename__ = "uploads"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    adler32: Mapped[str] = mapped_column(String(8))
    sha256: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(default=utcnow)
