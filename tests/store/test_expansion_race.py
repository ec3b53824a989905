"""A cancel committed while a LIST result is being recorded must win (PostgreSQL).

On PostgreSQL, result reports and control verbs run in concurrent
transactions. A result transaction that read the job before a cancel
committed must not expand the LIST into NEW elements under the cancelled job:
they would never be claimed (the job is cancelled) nor cancelled (the cancel
is over), and the job would never end.
"""

from __future__ import annotations

from sqlalchemy import func, select

from haul.domain.enums import JobStatus, JobType
from haul.services import control
from haul.services.expansion import expand
from haul.store.database import Database
from haul.store.tables import Element, Job, User


def test_expansion_after_a_concurrent_cancel_adds_nothing(pg_db: Database) -> None:
    db = pg_db
    with db.write() as session:
        user = User(email="race@example.org", name="race")
        session.add(user)
        session.flush()
        job = Job(
            user_id=user.id,
            type=int(JobType.COPY),
            protocol=0,
            log_uid="race",
            extra_opts={},
            src_filepath="/src",
            dst_filepath="/dst",
        )
        session.add(job)
        session.flush()
        session.add(
            Element(
                job_id=job.id,
                id=0,
                user_id=user.id,
                type=int(JobType.LIST),
                status=int(JobStatus.SUBMITTED),
                src_filepath="/src",
            )
        )
        job_id = job.id
        session.expunge(user)
    entries = [("/src", {"name": f"f{i}", "size": 1, "is_dir": False}) for i in range(5)]

    with db.write() as results:
        seen = results.get(Job, job_id)  # the result transaction has read the job...
        assert seen is not None and not seen.cancelled
        with db.write() as verbs:  # ...when the owner's cancel commits
            control.cancel(verbs, user, job_id)
        element = results.get(Element, (job_id, 0))
        added = expand(results, seen, element, 1, entries)  # type: ignore[arg-type]
    assert added == 0
    with db.read() as session:
        queued = session.scalar(
            select(func.count()).where(
                Element.job_id == job_id, Element.status == int(JobStatus.NEW)
            )
        )
    assert queued == 0
