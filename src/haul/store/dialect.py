"""The one place that knows which database is in use, and what that changes.

haul runs on SQLite (one host, writers serialised by ``BEGIN IMMEDIATE``) and
PostgreSQL (many servers, READ COMMITTED, row locks). The few statements
whose SQL or meaning differs between them ask here rather than checking the
dialect themselves: row locks (``FOR UPDATE``, ``SKIP LOCKED``), which only
PostgreSQL needs (``locks_rows``, ``for_update``); the INSERT that knows
``ON CONFLICT``, spelt by each dialect's own construct; the advisory lock
that lets one of several servers run a periodic task; an
``executemany``'s row count, which not every driver reports; and a column
kept out of SQLite's index choice (``not_a_key``); a list of values bound
as one array on PostgreSQL (``in_values``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, Table, any_, bindparam
from sqlalchemy import text as sql_text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import InternalTraversal

POSTGRESQL = "postgresql"
SQLITE = "sqlite"

Bind = Session | Connection | Engine
Q = TypeVar("Q", bound=Select[Any])

_TRY_ADVISORY = sql_text("SELECT pg_try_advisory_xact_lock(:k)")


def name(bind: Bind) -> str:
    """The dialect's name: ``postgresql`` or ``sqlite``."""
    if isinstance(bind, Session):
        return bind.get_bind().dialect.name
    return bind.dialect.name


def is_postgres(bind: Bind) -> bool:
    return name(bind) == POSTGRESQL


def is_sqlite(bind: Bind) -> bool:
    return name(bind) == SQLITE


class _NotAKey(ColumnElement[Any]):
    """A column compared in a WHERE clause but not to be searched by (``not_a_key``)."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(_NotAKey)
def _plain_column(element: _NotAKey, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column, **kw))


@compiles(_NotAKey, SQLITE)
def _unary_plus(element: _NotAKey, compiler: Any, **kw: Any) -> str:
    return "+" + str(compiler.process(element.column, **kw))


def not_a_key(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``column`` for a guard term of a statement that finds its rows by primary key.

    SQLite's planner, without statistics, prefers an index whose first column
    a term compares with a constant: an element UPDATE keyed by ``(job_id,
    id)`` with a ``status = NEW`` guard searched the claim index by status,
    every NEW element of the queue, instead of the primary key. Unary plus
    (``+elements.status``), SQLite's documented way to say so, keeps the term
    out of its index choice; the value and meaning are the same. PostgreSQL
    plans by statistics and gets the column as it is.
    """
    return _NotAKey(column)


class _InValues(ColumnElement[bool]):
    """``column IN (the list bound as ``name``)``, spelt per dialect (``in_values``)."""

    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("name", InternalTraversal.dp_string),
    ]

    def __init__(self, column: ColumnElement[Any], name: str) -> None:
        self.column = column
        self.name = name


@compiles(_InValues)
def _expanding_in(element: _InValues, compiler: Any, **kw: Any) -> str:
    expanding = bindparam(element.name, expanding=True, type_=element.column.type)
    return str(compiler.process(element.column.in_(expanding), **kw))


@compiles(_InValues, POSTGRESQL)
def _any_array(element: _InValues, compiler: Any, **kw: Any) -> str:
    array = bindparam(element.name, type_=postgresql.ARRAY(element.column.type))
    return str(compiler.process(element.column == any_(array), **kw))


def in_values(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """``column`` is one of the list (or tuple) of values given as parameter ``name``.

    SQLite gets an expanding ``IN (?, ?, ...)``. PostgreSQL gets ``column =
    ANY(:name)`` with the list as one array parameter: an expanding list of
    500 ids cost SQLAlchemy a rendered bind per id, psycopg a parse of every
    query text it had not seen, and the server a statement of 500 parameters
    to parse and plan (bench/RESULTS.md, branch ``sdrain``); one array keeps
    the statement's text constant, so psycopg prepares it once. Both match
    the same rows.
    """
    return _InValues(column, name)


def locks_rows(bind: Bind) -> bool:
    """Whether a reader must lock the rows it will write: on PostgreSQL (READ
    COMMITTED, many writers at once). SQLite's writers run one at a time.

    For a caller that keeps a locking statement and a plain one built (the
    result path's), rather than asking ``for_update`` per execution."""
    return is_postgres(bind)


def for_update(
    query: Q, bind: Bind, *, skip_locked: bool = False, of: Any = None, when: bool = True
) -> Q:
    """The query locking the rows it reads until the transaction ends, on PostgreSQL.

    SQLite has no row locks and needs none (its writers run one at a time),
    so there the query is left as it is. ``skip_locked``: rows another
    transaction holds are passed over rather than waited for. ``when``: the
    caller's own reason to lock (a write session), checked first.
    """
    if not when or not locks_rows(bind):
        return query
    return query.with_for_update(skip_locked=skip_locked, of=of)


def insert(bind: Bind, table: Table) -> Any:
    """The dialect's INSERT of ``table``, which has ``on_conflict_do_nothing/_update``.

    Both databases know ``INSERT ... ON CONFLICT``; SQLAlchemy spells it per
    dialect, so an upsert is built from this and not from ``sqlalchemy.insert``.
    """
    dialect = name(bind)
    if dialect == POSTGRESQL:
        return postgresql.insert(table)
    if dialect == SQLITE:
        return sqlite.insert(table)
    # haul supports these two databases only; nothing else reaches this point in its tests.
    raise ValueError(f"insert ... on conflict: {dialect} is not SQLite or PostgreSQL")


def insert_skipping_existing(bind: Bind, table: Table) -> Any:
    """An INSERT that skips the rows a unique constraint already holds."""
    return insert(bind, table).on_conflict_do_nothing()


def upsert(
    bind: Bind,
    table: Table,
    keys: list[str],
    set_: dict[str, Any] | Callable[[Any], dict[str, Any]],
) -> Any:
    """An INSERT that, where a row with these ``keys`` exists, updates ``set_`` instead.

    ``set_`` may be a function of the ``excluded`` row (the values the INSERT
    proposed), for updates that take the new row's values.
    """
    stmt = insert(bind, table)
    values = set_(stmt.excluded) if callable(set_) else set_
    return stmt.on_conflict_do_update(index_elements=keys, set_=values)


def try_advisory_lock(session: Session, key: int) -> bool:
    """Takes the transaction-scoped advisory lock ``key``, if nobody holds it.

    On PostgreSQL several servers may share one database, and the one that
    gets the lock runs the task while the others skip it. SQLite is a
    single-host database whose write transactions already serialise, so
    there the caller always holds it.
    """
    if not is_postgres(session):
        return True
    return bool(session.execute(_TRY_ADVISORY, {"k": key}).scalar())


def executemany_rowcount(result: CursorResult[Any], expected: int) -> int:
    """An ``executemany``'s row count where the driver reports one (else ``expected``)."""
    dialect = result.context.dialect
    return int(result.rowcount) if dialect.supports_sane_multi_rowcount else expected
