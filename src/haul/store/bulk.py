"""Bulk inserts that hand rows straight to the driver's ``executemany``.

SQLAlchemy's ``session.execute(insert(table), list_of_dicts)`` compiles the
parameters of every row in Python (key lookups, type processors, default
callables), which costs more than SQLite's own insert. The queue's hottest
writes (a listing's entries, the elements planned from it, an attempt row per
result) are tens of thousands of rows of a handful of plain columns, so they
go through here instead: the statement is compiled once per call, each
column's bind processor is looked up once, and a value repeated row after
row (a batch's timestamp) is processed once.

On PostgreSQL the rows go as one array per column in a single
``INSERT ... SELECT * FROM unnest(...)`` (per ``ARRAY_ROWS`` rows): psycopg's
executemany sends and the server executes one statement per row, which for a
batch of 500 attempts cost more CPU on both sides than the rows' own writes
(bench/RESULTS.md, branch ``sdrain``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Float, Integer, Table, insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from haul.store.dialect import insert_skipping_existing, is_postgres

# Rows per PostgreSQL unnest INSERT: bounds one statement's message (a
# listing's 100,000 entries go in ten).
ARRAY_ROWS = 10_000


def _processors(conn: Connection, table: Table, columns: Sequence[str]) -> list[Any]:
    dialect = conn.dialect
    out: list[Callable[[Any], Any] | None] = []
    for name in columns:
        col_type = table.c[name].type.dialect_impl(dialect)
        out.append(col_type.bind_processor(dialect))
    return out


_UNSET = object()
_COMPILED: dict[tuple[str, str, tuple[str, ...], bool, str | None], tuple[Any, list[Any]]] = {}


def _insert(conn: Connection, table: Table, skip_existing: bool, returning: str | None) -> Any:
    """A plain INSERT, or one that skips rows a unique constraint already holds."""
    stmt = insert_skipping_existing(conn, table) if skip_existing else insert(table)
    return stmt.returning(table.c[returning]) if returning is not None else stmt


def _compiled(
    conn: Connection,
    table: Table,
    columns: tuple[str, ...],
    skip_existing: bool = False,
    returning: str | None = None,
) -> tuple[Any, list[Any]]:
    """The INSERT and its processors, compiled once per dialect, table and columns."""
    key = (conn.dialect.name, table.name, columns, skip_existing, returning)
    found = _COMPILED.get(key)
    if found is None:
        stmt = _insert(conn, table, skip_existing, returning)
        compiled = stmt.compile(dialect=conn.dialect, column_keys=list(columns))
        found = _COMPILED[key] = (compiled, _processors(conn, table, columns))
    return found


def insert_row(
    session: Session, table: Table, values: dict[str, Any], *, returning: str | None = None
) -> Any:
    """One INSERT straight to the driver; the ``returning`` column's value, if named.

    A one-file job's submission is two single-row INSERTs (the job, its element
    0) on the hottest path of many-job workloads; through the ORM's unit of
    work or its ORM-enabled INSERT each cost several times the statement.
    A column left out gets the table's own Python-side default, as the ORM
    would give it.
    """
    conn = session.connection()
    values = {**_defaults(table, values), **values}
    columns = tuple(values)
    compiled, processors = _compiled(conn, table, columns, returning=returning)
    row = [
        value if process is None else process(value)
        for value, process in zip(values.values(), processors, strict=True)
    ]
    [params] = _driver_params(compiled, table, columns, [row])
    result = conn.exec_driver_sql(compiled.string, params)
    return result.scalar_one() if returning is not None else None


def _defaults(table: Table, given: dict[str, Any]) -> dict[str, Any]:
    """The table's Python-side defaults (a value, or a callable of no arguments)
    for its columns not in ``given``."""
    out: dict[str, Any] = {}
    for column in table.c:
        default = column.default
        if column.name in given or default is None:
            continue
        if getattr(default, "is_scalar", False):
            out[column.name] = default.arg  # type: ignore[attr-defined]
        elif getattr(default, "is_callable", False):
            out[column.name] = default.arg(None)  # type: ignore[attr-defined]
    return out


def _memo(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Processes a value once while it repeats from row to row (a batch-wide time,
    the start time shared by the elements of one claim)."""
    last: list[Any] = [_UNSET, None]

    def run(value: Any) -> Any:
        if value is not last[0] and (value is None or last[0] is None or value != last[0]):
            last[0], last[1] = value, process(value)
        return last[1]

    return run


def insert_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    skip_existing: bool = False,
) -> None:
    """INSERTs ``rows`` (tuples in ``columns`` order) with one driver executemany.

    Column defaults are not applied: callers give every column they need.
    ``skip_existing``: a row that a unique constraint already holds is left
    out (``ON CONFLICT DO NOTHING``), so a repeated write is idempotent.
    """
    if not rows:
        return
    conn = session.connection()
    compiled, raw_processors = _compiled(conn, table, tuple(columns), skip_existing)
    processors = [_memo(p) if p is not None else None for p in raw_processors]
    active = [(i, p) for i, p in enumerate(processors) if p is not None]

    def prepared(row: Sequence[Any]) -> Sequence[Any]:
        if not active:
            return row
        values = list(row)
        for i, process in active:
            values[i] = process(values[i])
        return tuple(values)

    if is_postgres(conn):
        sql = _unnest_sql(conn, table, tuple(columns), skip_existing)
        casts = _numeric_casts(table, columns)
        for start in range(0, len(rows), ARRAY_ROWS):
            part = [prepared(row) for row in rows[start : start + ARRAY_ROWS]]
            arrays = tuple(
                list(values) if cast is None else [v if v is None else cast(v) for v in values]
                for values, cast in zip(zip(*part, strict=True), casts, strict=True)
            )
            conn.exec_driver_sql(sql, arrays)
        return
    params = _driver_params(compiled, table, tuple(columns), map(prepared, rows))
    if params:
        conn.exec_driver_sql(compiled.string, params)


_UNNEST: dict[tuple[str, tuple[str, ...], bool], str] = {}


def _numeric_casts(table: Table, columns: Sequence[str]) -> list[Callable[[Any], Any] | None]:
    """``int`` or ``float`` for each numeric column, else None.

    psycopg dumps an array of one Python type only: a float column given an
    int (an mtime of whole seconds) or an int column given a bool would fail
    as an array where one row per statement did not.
    """
    out: list[Callable[[Any], Any] | None] = []
    for name in columns:
        kind = table.c[name].type
        out.append(int if isinstance(kind, Integer) else float if isinstance(kind, Float) else None)
    return out


def _unnest_sql(conn: Connection, table: Table, columns: tuple[str, ...], skip: bool) -> str:
    """PostgreSQL's INSERT of rows given as one typed array per column, built once.

    ``ON CONFLICT DO NOTHING`` skips a row a unique constraint holds, as the
    per-row INSERT did; two rows of one statement conflicting with each other
    are skipped the same way. The arrays go in psycopg's binary format
    (``%b``): a text array quotes and escapes every string by regular
    expression, ~9 us of client CPU per attempt row against ~3.7.
    """
    key = (table.name, columns, skip)
    found = _UNNEST.get(key)
    if found is None:
        prep = conn.dialect.identifier_preparer
        names = ", ".join(prep.quote(name) for name in columns)
        arrays = ", ".join(
            f"%b::{table.c[name].type.compile(dialect=conn.dialect)}[]" for name in columns
        )
        found = f"INSERT INTO {prep.format_table(table)} ({names}) SELECT * FROM unnest({arrays})"
        if skip:
            found += " ON CONFLICT DO NOTHING"
        _UNNEST[key] = found
    return found


def _driver_params(
    compiled: Any, table: Table, columns: tuple[str, ...], rows: Iterable[Sequence[Any]]
) -> list[Any]:
    """Processed rows in the driver's parameter form for ``compiled``."""
    positional = compiled.positiontup
    if positional is None:
        return [dict(zip(columns, row, strict=True)) for row in rows]
    if len(positional) != len(columns):  # the compiler added a defaulted column
        raise ValueError(f"{table.name}: no value for {sorted(set(positional) - set(columns))}")
    # Positional paramstyles (SQLite's qmark) follow the table's column order,
    # not the order asked for.
    order = [columns.index(name) for name in positional]
    if order == list(range(len(columns))):
        return [tuple(row) for row in rows]
    pick = itemgetter(*order)
    return [pick(row) for row in rows]
