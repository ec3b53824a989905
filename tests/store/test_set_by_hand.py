"""store/queries/steering.py: move_by_hand, seed 004's set_job, on SQLite and PostgreSQL.

The move is guarded by the statuses the caller read: an element that moved on
since (a worker's result landed) is not matched, and the row count says so.
"""

from __future__ import annotations

from sqlalchemy import select

from haul.domain.enums import JobStatus, JobType
from haul.domain.transitions import set_by_hand
from haul.store.database import Database
from haul.store.queries.steering import move_by_hand
from haul.store.tables import Element, Job, User

NEW, RUNNING, DONE, FAILED = JobStatus.NEW, JobStatus.RUNNING, JobStatus.DONE, JobStatus.FAILED


def _custom_job(db: Database, status: JobStatus) -> int:
    with db.write() as s:
        user = User(email=f"hand-{int(status)}@example.org", name="hand")
        s.add(user)
        s.flush()
        job = Job(user_id=user.id, type=int(JobType.COPY), protocol=0, log_uid="h",
                  extra_opts={}, type_name="custom")
        s.add(job)
        s.flush()
        s.add(Element(job_id=job.id, id=0, user_id=user.id, type=1000, status=int(status),
                      lease_token="tok" if status == RUNNING else None))
        return job.id


def _status(db: Database, job_id: int) -> tuple[JobStatus, str | None]:
    with db.read() as s:
        status, token = s.execute(
            select(Element.status, Element.lease_token).where(Element.job_id == job_id)
        ).one()
        return JobStatus(status), token


def test_a_move_from_the_status_read_is_written(db: Database) -> None:
    job_id = _custom_job(db, RUNNING)
    with db.write() as s:
        values = set_by_hand(DONE) | {"status": int(DONE)}
        assert move_by_hand(s, job_id, {RUNNING}, values) == 1
    assert _status(db, job_id) == (DONE, None)


def test_an_element_that_moved_on_is_left_alone(db: Database) -> None:
    job_id = _custom_job(db, FAILED)  # a worker's result landed after the caller read RUNNING
    with db.write() as s:
        assert move_by_hand(s, job_id, {RUNNING}, set_by_hand(DONE)) == 0
        assert move_by_hand(s, job_id, set(), set_by_hand(DONE)) == 0
    assert _status(db, job_id) == (FAILED, None)
