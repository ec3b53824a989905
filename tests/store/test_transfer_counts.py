"""store/queries/worker_activity.py: ``done_with`` deletes finished elements' count rows
and answers what they held; jobs without any count row are answered by one probe."""

from __future__ import annotations

from sqlalchemy import select

from haul.store.clock import utcnow
from haul.store.database import Database
from haul.store.monitoring_tables import WorkerTransfer
from haul.store.queries import worker_activity as rows_of
from tests.store.test_transition_queries import RUNNING, _job


def _counts(db: Database) -> set[tuple[int, int]]:
    with db.read() as s:
        return {(r.job_id, r.element_id) for r in s.scalars(select(WorkerTransfer))}


def test_done_with_deletes_the_rows_it_answers(db: Database) -> None:
    counted = _job(db, [RUNNING, RUNNING, RUNNING])
    other = _job(db, [RUNNING, RUNNING])
    now = utcnow()
    with db.write() as s:
        rows = [
            {"job_id": counted, "element_id": i, "worker_id": 7, "transferred": 100 + i,
             "updated": now}
            for i in (0, 2)
        ]
        rows_of.keep_counts(s, [*rows, {**rows[0], "job_id": other}])
    with db.write() as s:
        got = rows_of.done_with(s, [(counted, 0), (counted, 1), (counted, 2)])
    assert {k: (r.worker_id, r.transferred) for k, r in got.items()} == {
        (counted, 0): (7, 100),
        (counted, 2): (7, 102),
    }
    assert _counts(db) == {(other, 0)}
    with db.write() as s:  # no count row of this job is left: nothing to delete or answer
        assert rows_of.done_with(s, [(counted, 0), (counted, 1)]) == {}
        assert rows_of.done_with(s, []) == {}
    assert _counts(db) == {(other, 0)}
