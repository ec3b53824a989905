"""store/dialect.py, the one place that knows which database is in use: each helper
on SQLite and PostgreSQL, and the locks on PostgreSQL, where two writers can meet."""

from __future__ import annotations

from sqlalchemy import select, update

from haul.domain.enums import JobStatus, JobType
from haul.store import dialect
from haul.store.clock import utcnow
from haul.store.database import Database
from haul.store.keyed_elements import keyed_update
from haul.store.monitoring_tables import WorkerActivity
from haul.store.tables import Element, Job, User

ACTIVITY = WorkerActivity.__table__


def _user(db: Database, email: str = "dialect@example.org") -> int:
    with db.write() as s:
        user = User(email=email, name="dialect")
        s.add(user)
        s.flush()
        return user.id


def _elements(db: Database, n: int) -> int:
    user_id = _user(db)
    with db.write() as s:
        job = Job(user_id=user_id, type=int(JobType.COPY), protocol=0, log_uid="d", extra_opts={})
        s.add(job)
        s.flush()
        s.add_all(
            Element(job_id=job.id, id=i, user_id=user_id, type=int(JobType.COPY))
            for i in range(n)
        )
        return job.id


def _is_pg(db: Database) -> bool:
    return db.engine.dialect.name == "postgresql"


def test_names_the_database_from_a_session_a_connection_or_an_engine(db: Database) -> None:
    pg = _is_pg(db)
    with db.read() as s:
        for bind in (s, s.connection(), db.engine):
            assert dialect.is_postgres(bind) is pg
            assert dialect.is_sqlite(bind) is not pg
            assert dialect.name(bind) == ("postgresql" if pg else "sqlite")
    assert db.is_sqlite is not pg


def test_for_update_locks_on_postgresql_only(db: Database) -> None:
    q = select(Element.id)
    with db.read() as s:
        locked = dialect.for_update(q, s, skip_locked=True, of=Element)
        sql = str(locked.compile(dialect=db.engine.dialect))
        if _is_pg(db):
            assert "FOR UPDATE OF elements SKIP LOCKED" in sql
        else:
            assert locked is q and "FOR UPDATE" not in sql
        # The caller's own reason not to lock is checked first.
        assert dialect.for_update(q, s, when=False) is q


def test_only_postgresql_locks_rows(db: Database) -> None:
    with db.read() as s:
        for bind in (s, s.connection(), db.engine):
            assert dialect.locks_rows(bind) is _is_pg(db)


def test_for_update_skip_locked_passes_over_rows_another_transaction_holds(
    pg_db: Database,
) -> None:
    job_id = _elements(pg_db, 3)
    q = select(Element.id).where(Element.job_id == job_id).order_by(Element.id)
    with pg_db.write() as first:
        held = list(first.scalars(dialect.for_update(q.limit(2), first, skip_locked=True)))
        assert held == [0, 1]
        with pg_db.write() as second:
            rest = list(second.scalars(dialect.for_update(q, second, skip_locked=True)))
    assert rest == [2]


def test_upsert_inserts_then_updates_the_existing_row(db: Database) -> None:
    user_id = _user(db)
    now = utcnow()
    with db.write() as s:
        for host in ("first", "second"):
            stmt = dialect.upsert(
                s, ACTIVITY, ["worker_id"], lambda new: {"host": new.host}
            ).values(worker_id=user_id, first_seen=now, last_seen=now, host=host)
            s.execute(stmt)
        stmt = dialect.upsert(s, ACTIVITY, ["worker_id"], {"claimed": ACTIVITY.c.claimed + 5})
        s.execute(stmt.values(worker_id=user_id, first_seen=now, last_seen=now, claimed=1))
    with db.read() as s:
        rows = s.execute(select(WorkerActivity.host, WorkerActivity.claimed)).all()
    assert [tuple(r) for r in rows] == [("second", 5)]


def test_insert_skipping_existing_keeps_the_first_row(db: Database) -> None:
    user_id = _user(db)
    now = utcnow()
    with db.write() as s:
        for host in ("kept", "skipped"):
            stmt = dialect.insert_skipping_existing(s, ACTIVITY)
            s.execute(stmt.values(worker_id=user_id, first_seen=now, last_seen=now, host=host))
    with db.read() as s:
        assert list(s.scalars(select(WorkerActivity.host))) == ["kept"]


def test_advisory_lock_is_held_by_one_transaction_at_a_time_on_postgresql(db: Database) -> None:
    with db.write() as s:
        assert dialect.try_advisory_lock(s, 0x4AFF) is True
        if _is_pg(db):
            with db.write() as other:
                assert dialect.try_advisory_lock(other, 0x4AFF) is False
                assert dialect.try_advisory_lock(other, 0x4AFE) is True
    with db.write() as s:  # transaction-scoped: released at commit
        assert dialect.try_advisory_lock(s, 0x4AFF) is True


def test_executemany_rowcount_counts_the_rows_changed_where_the_driver_can(
    db: Database,
) -> None:
    job_id = _elements(db, 3)
    stmt = keyed_update(status=int(JobStatus.DONE))
    params = [{"k_job": job_id, "k_id": i} for i in (0, 2, 99)]  # no element 99
    with db.write() as s:
        result = s.connection().execute(stmt, params)
        counted = dialect.executemany_rowcount(result, len(params))
    sane = db.engine.dialect.supports_sane_multi_rowcount
    assert counted == (2 if sane else 3)


def test_not_a_key_keeps_a_guard_out_of_sqlites_index_choice(db: Database) -> None:
    """The claim's lease UPDATE finds its rows by primary key, its status only checked:
    with a plain ``status = NEW`` SQLite searched the claim index by status (every NEW
    element). Same rows matched on both databases."""
    job_id = _elements(db, 3)
    e = Element.__table__.c
    guard = dialect.not_a_key(e.status) == int(JobStatus.NEW)
    stmt = (
        update(Element.__table__)
        .where(e.job_id.in_([job_id]), e.id.in_([0, 2]), guard)
        .values(status=int(JobStatus.SUBMITTED))
    )
    with db.write() as s:
        compiled = stmt.compile(s.get_bind(), compile_kwargs={"render_postcompile": True})
        sql = str(compiled)
        if dialect.is_sqlite(s):
            assert "+elements.status" in sql
            params = tuple(compiled.params[k] for k in compiled.positiontup or [])
            plan = " ".join(str(r) for r in s.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + sql, params
            ))
            assert "sqlite_autoindex_elements_1" in plan and "ix_elements_claim" not in plan
        else:
            assert "+elements.status" not in sql
        assert s.execute(stmt).rowcount == 2
        assert s.execute(stmt).rowcount == 0  # no longer NEW


def test_in_values_is_one_array_on_postgresql_and_an_expanding_in_on_sqlite(
    db: Database,
) -> None:
    """The same rows as ``IN``, for a list, a tuple, one value or none; on PostgreSQL
    the statement's text does not depend on the list's length."""
    job_id = _elements(db, 5)
    e = Element.__table__.c
    stmt = (
        select(e.id)
        .where(dialect.in_values(e.job_id, "jobs"), dialect.in_values(e.id, "ids"))
        .order_by(e.id)
    )
    with db.read() as s:
        conn = s.connection()
        assert conn.execute(stmt, {"jobs": [job_id], "ids": [0, 2, 4, 9]}).scalars().all() == [
            0, 2, 4,
        ]
        assert conn.execute(stmt, {"jobs": (job_id,), "ids": (3,)}).scalars().all() == [3]
        assert conn.execute(stmt, {"jobs": [job_id], "ids": []}).scalars().all() == []
        assert conn.execute(stmt, {"jobs": [job_id + 1], "ids": [0]}).scalars().all() == []
        sql = str(stmt.compile(s.get_bind()))
        if _is_pg(db):
            assert "= ANY (%(ids)s::INTEGER[])" in sql and " IN " not in sql
        else:
            assert "IN (__[POSTCOMPILE_ids])" in sql
