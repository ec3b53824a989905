"""Engines and sessions for the embedded SQLite default and for PostgreSQL.

SQLite runs in WAL mode so readers never wait for the writer. Transactions
that write start with ``BEGIN IMMEDIATE``: a deferred transaction that reads
and then writes can fail outright when another writer got there first, while
an immediate one waits its turn under ``busy_timeout``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from haul.store import dialect

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Threads that run request code (and so hold connections): the server sets
# anyio's default thread limiter to this (it is 40 by default too). The pool
# keeps that many connections, plus a few for the periodic tasks, so requests
# do not queue behind the pool.
THREADS = 40
POOL_SIZE = THREADS + 4
# A request may still hold its connection while it waits for a thread to
# serialise its answer, so the pool can briefly need more: SQLite (no server
# limit on connections) opens more as needed; PostgreSQL opens up to this
# many more, then waits at most POOL_TIMEOUT_SECONDS before answering 503.
PG_OVERFLOW = 20
POOL_TIMEOUT_SECONDS = 5.0


def sqlite_url_for(path: str) -> str:
    return f"sqlite+pysqlite:///{path}"


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        if make_url(url).database not in (None, "", ":memory:"):  # a file: a QueuePool
            kwargs.setdefault("pool_size", POOL_SIZE)
            kwargs.setdefault("max_overflow", -1)  # never wait for a connection
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", PG_OVERFLOW)
    kwargs.setdefault("pool_timeout", POOL_TIMEOUT_SECONDS)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Straight to the driver: every request begins a transaction, and a
        # statement through SQLAlchemy's execution path costs ~50x the BEGIN.
        sql = "BEGIN IMMEDIATE" if conn.get_execution_options().get("haul_write") else "BEGIN"
        conn.connection.driver_connection.execute(sql)


@dataclass
class Database:
    """The store's handle: one engine, a read and a write session factory."""

    url: str
    engine: Engine

    def __post_init__(self) -> None:
        # SQLite has one writer at a time. Queueing writers on a lock here is far
        # cheaper than letting them spin in SQLite's busy handler, which sleeps in
        # growing steps; it also keeps claims from starving result reports.
        # (A plain Lock, not an RLock: a request may release it on another thread.)
        self._write_lock: threading.Lock | None = threading.Lock() if self.is_sqlite else None
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        write_engine = self.engine.execution_options(haul_write=True)
        self._write = sessionmaker(write_engine, expire_on_commit=False)

    @classmethod
    def connect(cls, url: str) -> Database:
        return cls(url=url, engine=make_engine(url))

    @property
    def is_sqlite(self) -> bool:
        return dialect.is_sqlite(self.engine)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        if self._write_lock is None:
            with self._write() as session, session.begin():
                yield session
            return
        with self._write_lock, self._write() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
