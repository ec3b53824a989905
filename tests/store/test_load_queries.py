"""store/queries/queue_load.py on SQLite and PostgreSQL: counts per type, the history's ticks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from haul.domain.enums import JobStatus, JobType
from haul.store.clock import utcnow
from haul.store.database import Database
from haul.store.monitoring_tables import LoadSample
from haul.store.queries import queue_load
from haul.store.tables import Element, Job, User


def test_counts_per_type_and_what_the_condition_admits(db: Database) -> None:
    with db.write() as s:
        user = User(email="load@example.org", name="load")
        s.add(user)
        s.flush()
        job = Job(user_id=user.id, type=int(JobType.COPY), protocol=0, log_uid="l", extra_opts={})
        s.add(job)
        s.flush()
        kinds = [
            (JobType.COPY, JobStatus.NEW, 3),
            (JobType.COPY, JobStatus.NEW, 1),
            (JobType.REMOVE, JobStatus.NEW, 5),
            (JobType.COPY, JobStatus.RUNNING, 5),
        ]
        s.add_all(
            Element(
                job_id=job.id, id=i, user_id=user.id, type=int(t), status=int(st), priority=prio
            )
            for i, (t, st, prio) in enumerate(kinds)
        )
    copy, remove = int(JobType.COPY), int(JobType.REMOVE)
    with db.read() as s:
        assert queue_load.count_by_type(s, [int(JobStatus.NEW)]) == {copy: 2, remove: 1}
        leased = [int(JobStatus.SUBMITTED), int(JobStatus.RUNNING)]
        assert queue_load.count_by_type(s, leased) == {copy: 1}
        found = queue_load.claimable_by_type(s, Element.status == int(JobStatus.NEW))
    assert {t: (n, prio) for t, (n, _, prio) in found.items()} == {copy: (2, 1), remove: (1, 5)}


def test_ticks_are_paged_summed_and_thinned(db: Database) -> None:
    t0 = utcnow().replace(microsecond=0) - timedelta(hours=1)
    times = [t0 + timedelta(minutes=m) for m in range(3)]
    rows = [
        {
            "time": t,
            "job_type_id": type_id,
            "pending_count": 1,
            "queued_count": 2,
            "running_count": type_id,
        }
        for t in times
        for type_id in (0, 1)
    ]
    with db.write() as s:
        assert queue_load.add_samples(s, rows) == 6
        assert queue_load.add_samples(s, []) == 0
    with db.read() as s:
        count, page = queue_load.tick_page(s, times[0], times[-1], None, 2, 1)
        assert count == 3
        assert [(p, q, r) for _, p, q, r in page] == [(2, 4, 1), (2, 4, 1)]
        count, page = queue_load.tick_page(s, times[0], times[-1], [1], 10, 0)
        assert count == 3 and [r for *_, r in page] == [1, 1, 1]
        assert len(queue_load.sample_times(s, times[0], times[-1])) == 2  # the end is excluded
    with db.write() as s:
        assert queue_load.delete_ticks(s, times[:2]) == 4
    with db.read() as s:
        assert s.scalar(select(LoadSample.time).distinct()) is not None
        assert len(list(s.scalars(select(LoadSample.time)))) == 2
