"""store.bulk.insert_rows writes exactly what an ORM insert would, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from haul.domain.enums import JobType
from haul.store.bulk import insert_rows
from haul.store.clock import as_utc
from haul.store.database import Database
from haul.store.tables import Attempt, Element, Job, ListingEntry, User


def _job_with_elements(db: Database, n: int) -> int:
    """The parent rows the foreign keys ask for: a user, a job, elements 0..n-1."""
    with db.write() as session:
        user = User(email="bulk@example.org", name="bulk")
        session.add(user)
        session.flush()
        job = Job(
            user_id=user.id, type=int(JobType.COPY), protocol=0, log_uid="bulk", extra_opts={}
        )
        session.add(job)
        session.flush()
        session.add_all(
            Element(job_id=job.id, id=i, user_id=user.id, type=int(JobType.COPY))
            for i in range(n)
        )
        return job.id


def test_rows_land_with_json_datetimes_and_nulls_in_any_column_order(db: Database) -> None:
    started = datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC)
    ended = started + timedelta(seconds=3)
    # Columns deliberately not in the table's order; `ended` repeats one object.
    columns = ("log", "ended", "element_id", "job_id", "attempt", "status", "returncode",
               "host", "error", "bytes", "checksum", "started")
    error = {"code": "NOT_FOUND", "scope": "SOURCE", "retryable": False, "message": "gone"}
    j = _job_with_elements(db, 3)
    rows = [
        ("copied", ended, 1, j, 1, 3, 0, "w1", None, 0, "adler32:00000001", started),
        ("failed: ünïcode 'quotes'", ended, 2, j, 1, 4, 1, "w1", error, None, None, None),
    ]
    with db.write() as session:
        insert_rows(session, Attempt.__table__, columns, rows)
        insert_rows(session, Attempt.__table__, columns, [])  # nothing to do, no error
    with db.read() as session:
        got = session.scalars(select(Attempt).order_by(Attempt.element_id)).all()
        assert [(a.job_id, a.element_id, a.attempt, a.status, a.returncode) for a in got] == [
            (j, 1, 1, 3, 0),
            (j, 2, 1, 4, 1),
        ]
        assert got[0].log == "copied" and got[1].log == "failed: ünïcode 'quotes'"
        assert got[0].error is None and got[1].error == error
        assert got[0].checksum == "adler32:00000001" and got[1].bytes is None
        assert as_utc(got[0].started) == started and got[1].started is None
        assert as_utc(got[0].ended) == ended and as_utc(got[1].ended) == ended


def test_many_rows_in_one_call(db: Database) -> None:
    columns = ("job_id", "element_id", "attempt", "seq", "directory", "name", "is_dir", "size",
               "mtime")
    j = _job_with_elements(db, 1)
    rows = [(j, 0, 1, i, "/d", f"f{i}", i % 2 == 0, i, None) for i in range(3000)]
    with db.write() as session:
        insert_rows(session, ListingEntry.__table__, columns, rows)
    with db.read() as session:
        got = session.execute(
            select(ListingEntry.seq, ListingEntry.is_dir, ListingEntry.size).order_by(
                ListingEntry.seq
            )
        ).all()
    assert [tuple(r) for r in got] == [(i, i % 2 == 0, i) for i in range(3000)]


def test_one_row_returns_its_id_and_reads_back_as_the_orm_wrote_it(db: Database) -> None:
    from haul.store.bulk import insert_row
    from haul.store.queries.submissions import add_job

    j = _job_with_elements(db, 0)
    when = datetime(2026, 12, 3, 17, 0, 0, 654321, tzinfo=UTC)
    with db.read() as session:
        user_id = session.get(Job, j).user_id  # type: ignore[union-attr]
    with db.write() as session:
        row = Job(
            user_id=user_id, type=int(JobType.COPY), type_name=None, src_siteid=None,
            dst_siteid=None, src_filepath="/a b/ü", dst_filepath=None,
            extra_opts={"checksum": "none"}, priority=3, protocol=0, max_tries=2, log_uid="x",
            timestamp=when, ended=None, cancelled=False, paused=False, stage=0, expanded=True,
            submission_id="s-1", meta={"k": [1, "two"]}, params={"type": "COPY"}, name=None,
            request=None, result=None, recover=None,
        )
        new_id = add_job(session, row)
    assert new_id > j
    with db.read() as session:
        got = session.get(Job, new_id)
        assert got is not None
        assert (got.src_filepath, got.priority, got.expanded, got.submission_id) == (
            "/a b/ü", 3, True, "s-1"
        )
        assert got.meta == {"k": [1, "two"]} and got.extra_opts == {"checksum": "none"}
        assert as_utc(got.timestamp) == when
    # Columns left out get the table's defaults, as through the ORM ...
    with db.write() as session:
        insert_row(
            session, Element.__table__, {"job_id": new_id, "id": 0, "user_id": user_id, "type": 1}
        )
    with db.read() as session:
        el = session.get(Element, (new_id, 0))
        assert el is not None
        assert (el.status, el.priority, el.attempts, el.size, el.stage) == (0, 5, 0, 0, 0)
        assert el.timestamp is not None
    # ... and a required column without one is refused, not written.
    with db.write() as session:
        try:
            insert_row(session, Element.__table__, {"job_id": new_id, "id": 1, "user_id": user_id})
        except Exception as exc:  # noqa: BLE001 - the database's NOT NULL, per driver
            assert "type" in str(exc)
        else:
            raise AssertionError("an element without its type was written")


def test_rows_past_one_statement_and_existing_ones_skipped(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL sends ARRAY_ROWS rows per unnest INSERT: every chunk lands, and
    ``skip_existing`` leaves out rows already there, in an earlier chunk or in the table."""
    from haul.store import bulk

    monkeypatch.setattr(bulk, "ARRAY_ROWS", 7)
    columns = ("job_id", "element_id", "attempt", "status", "host", "log", "ended")
    j = _job_with_elements(db, 30)
    ended = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
    with db.write() as session:
        insert_rows(session, Attempt.__table__, columns, [(j, 0, 1, 1, "old", "", ended)])
    rows = [(j, i, 1, 1, "new", f"log {i}", ended) for i in range(30)]
    rows.insert(10, (j, 3, 1, 1, "again", "", ended))  # a later chunk repeats element 3
    with db.write() as session:
        insert_rows(session, Attempt.__table__, columns, rows, skip_existing=True)
    with db.read() as session:
        got = session.execute(
            select(Attempt.element_id, Attempt.host, Attempt.log).order_by(Attempt.element_id)
        ).all()
    assert [tuple(r) for r in got] == [(0, "old", "")] + [
        (i, "new", f"log {i}") for i in range(1, 30)
    ]


def test_a_numeric_column_of_mixed_python_types_lands(db: Database) -> None:
    """Whole and fractional mtimes in one batch, a bool and an IntEnum among ints: one
    row per statement took them, and so must one array per column (PostgreSQL)."""
    columns = ("job_id", "element_id", "attempt", "seq", "directory", "name", "is_dir", "size",
               "mtime")
    j = _job_with_elements(db, 1)
    rows = [
        (j, 0, 1, 0, "/d", "a", False, 0, 1700000000),
        (j, 0, 1, 1, "/d", "b", False, True, 1700000000.5),
        (j, 0, 1, JobType.REMOVE, "/d", "c", True, 7, None),
    ]
    with db.write() as session:
        insert_rows(session, ListingEntry.__table__, columns, rows)
    with db.read() as session:
        got = session.execute(
            select(ListingEntry.seq, ListingEntry.size, ListingEntry.mtime).order_by(
                ListingEntry.seq
            )
        ).all()
    assert [tuple(r) for r in got] == [(0, 0, 1700000000.0), (1, 1, 1700000000.5), (2, 7, None)]
