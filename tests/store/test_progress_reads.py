"""Progress reads of running jobs: only the elements that reported progress are read.

A claim clears an element's progress; a worker claims thousands ahead of its
slots, so a job read (`copy_progress`) and a dashboard refresh
(`leased_progress`) must not read each claimed-ahead element: the cleared
value is SQL NULL, never JSON null (which `IS NOT NULL` matched).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from haul.store.clock import utcnow
from haul.store.database import Database
from haul.store.queries import claim, element_reads, job_reads
from haul.store.queries.heartbeats import Beat, extend_leases
from haul.store.tables import Element
from tests.store.test_claim_queries import _job


def test_claimed_ahead_elements_are_not_read_for_progress(db: Database) -> None:
    user_id, job_id = _job(db, 50, email="progress@example.org")
    now = utcnow()
    expires = now + timedelta(minutes=2)
    with db.write() as s:
        # As an earlier attempt may leave it: progress that the claim must clear.
        s.execute(update(Element).where(Element.job_id == job_id).values(progress={"x": 1}))
        assert claim.lease(s, [(job_id, i) for i in range(50)], "tok", expires, user_id, now) == 50
    with db.write() as s:
        beat = Beat(job_id, 7, "tok.7", expires, None, {"transferred": 123})
        assert extend_leases(s, [beat]) == 1
    with db.read() as s:
        nulls = s.scalar(
            select(func.count()).select_from(Element)
            .where(Element.job_id == job_id, Element.progress.is_(None))
        )
        assert nulls == 49  # SQL NULL, so `IS NOT NULL` skips them in the index's rows
        assert job_reads.copy_progress(s, [job_id]) == [(job_id, {"transferred": 123})]
        assert element_reads.leased_progress(s, [job_id]) == [(job_id, {"transferred": 123})]
        assert element_reads.leased_counts(s, [job_id]) == {job_id: 50}
