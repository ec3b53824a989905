"""The result path's cost per batch is a fixed handful of statements, and its guards hold.

On SQLite and PostgreSQL: a batch of plain successes for one job is
recorded with five statements whatever its size (read the rows, read the
job, one guarded UPDATE, one attempt INSERT, one stage probe); the last
batch of the job stamps its end with one more. Sending a batch again
changes nothing and is answered 409 per item; a lease that changed between
the read and the write (what the reaper does) loses only its own item.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import event, func, select, update

from haul.domain.enums import JobStatus, JobType
from haul.services.reports import Policy, Result, record_results
from haul.store.clock import utcnow
from haul.store.database import Database
from haul.store.tables import Attempt, Element, Job, User


def _leased_job(db: Database, n: int) -> tuple[int, list[tuple[int, str]]]:
    now = utcnow()
    with db.write() as s:
        user = User(email="results@example.org", name="results")
        s.add(user)
        s.flush()
        job = Job(user_id=user.id, type=int(JobType.COPY), protocol=0, log_uid="r", extra_opts={})
        s.add(job)
        s.flush()
        s.add_all(
            Element(
                job_id=job.id, id=i, user_id=user.id, type=int(JobType.COPY),
                status=int(JobStatus.SUBMITTED), lease_token=f"tok.{i}", lease_expires=now,
                started=now,
            )
            for i in range(1, n + 1)
        )
        return job.id, [(i, f"tok.{i}") for i in range(1, n + 1)]


def _results(job_id: int, leases: list[tuple[int, str]]) -> list[Result]:
    return [Result(job_id=job_id, element_id=i, token=t, returncode=0, bytes=7) for i, t in leases]


def _counting(db: Database) -> Counter[str]:
    seen: Counter[str] = Counter()

    @event.listens_for(db.engine, "before_cursor_execute")
    def count(conn: Any, cursor: Any, sql: str, *_: Any) -> None:
        seen[sql.split(None, 1)[0].upper()] += 1

    return seen


def test_a_batch_costs_five_statements_whatever_its_size(db: Database) -> None:
    job_id, leases = _leased_job(db, 120)
    seen = _counting(db)
    for part in (leases[:10], leases[10:100]):
        seen.clear()
        with db.write() as s:
            answers = record_results(s, _results(job_id, part), Policy())
        assert [a["code"] for a in answers] == [200] * len(part)
        assert dict(seen) == {"SELECT": 3, "UPDATE": 1, "INSERT": 1}
    seen.clear()
    with db.write() as s:
        record_results(s, _results(job_id, leases[100:]), Policy())
    # The job's last batch also stamps its end: one UPDATE of the job.
    assert dict(seen) == {"SELECT": 4, "UPDATE": 2, "INSERT": 1}
    with db.read() as s:
        assert s.scalar(select(func.count()).where(Element.status == int(JobStatus.DONE))) == 120
        assert s.scalar(select(func.count()).where(Element.lease_token.is_not(None))) == 0
        assert s.scalar(select(func.count()).select_from(Attempt)) == 120
        assert s.get_one(Job, job_id).ended is not None


def test_a_repeated_batch_changes_nothing_and_a_changed_lease_loses_alone(db: Database) -> None:
    job_id, leases = _leased_job(db, 6)
    with db.write() as s:
        record_results(s, _results(job_id, leases[:3]), Policy())
    with db.write() as s:
        again = record_results(s, _results(job_id, leases[:3]), Policy())
    assert [a["code"] for a in again] == [409] * 3
    # Element 5's lease changes after its row was read, before the write: the
    # guarded UPDATE does not match it, so only its item is refused.
    with db.write() as s:
        sent = _results(job_id, leases[3:])
        first = True

        @event.listens_for(db.engine, "before_cursor_execute")
        def steal(conn: Any, cursor: Any, sql: str, *_: Any) -> None:
            nonlocal first
            if first and sql.lstrip().upper().startswith("UPDATE ELEMENTS"):
                first = False
                cursor.execute(*_steal_sql(db, job_id, 5))

        answers = record_results(s, sent, Policy())
        event.remove(db.engine, "before_cursor_execute", steal)
    assert [a["code"] for a in answers] == [200, 409, 200]
    with db.read() as s:
        rows = {e.id: e for e in s.scalars(select(Element).where(Element.job_id == job_id))}
        attempts = s.scalar(select(func.count()).select_from(Attempt))
    assert rows[5].status == int(JobStatus.SUBMITTED) and rows[5].lease_token == "stolen"
    assert all(rows[i].status == int(JobStatus.DONE) for i in (1, 2, 3, 4, 6))
    assert attempts == 5


def _steal_sql(db: Database, job_id: int, element_id: int) -> tuple[str, Any]:
    """The reaper's kind of change, as plain SQL on the writing connection."""
    stmt = (
        update(Element.__table__)
        .where(Element.job_id == job_id, Element.id == element_id)
        .values(lease_token="stolen")
    )
    compiled = stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    return (str(compiled), ())
