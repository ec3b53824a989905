"""The claim's fair-share levels: the index skip-scan finds what a DISTINCT finds."""

from __future__ import annotations

import pytest

from haul.domain.enums import JobStatus, JobType
from haul.store.database import Database
from haul.store.queries import claim_levels
from haul.store.tables import Element, Job, User


def _queue(db: Database, layout: list[tuple[int, int, int]]) -> None:
    """``layout``: (user number, priority, status) per element, users made on demand."""
    with db.write() as session:
        users: dict[int, User] = {}
        jobs: dict[tuple[int, int], Job] = {}
        next_id: dict[int, int] = {}
        for n, priority, status in layout:
            if n not in users:
                users[n] = User(email=f"u{n}@example.org", name=f"u{n}")
                session.add(users[n])
                session.flush()
            if (n, priority) not in jobs:
                job = Job(
                    user_id=users[n].id,
                    type=int(JobType.COPY),
                    protocol=0,
                    log_uid=f"j{n}-{priority}",
                    extra_opts={},
                    priority=priority,
                )
                session.add(job)
                session.flush()
                jobs[(n, priority)] = job
            job = jobs[(n, priority)]
            eid = next_id.get(job.id, 0)
            next_id[job.id] = eid + 1
            session.add(
                Element(
                    job_id=job.id,
                    id=eid,
                    user_id=users[n].id,
                    type=int(JobType.COPY),
                    priority=priority,
                    status=status,
                )
            )


def _levels(db: Database) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    with db.read() as session:
        return claim_levels.levels(session), claim_levels.levels_distinct(session)


NEW, DONE, RUNNING = int(JobStatus.NEW), int(JobStatus.DONE), int(JobStatus.RUNNING)


def test_empty_queue_has_no_levels(db: Database) -> None:
    _queue(db, [(1, 5, DONE), (2, 3, RUNNING)])
    assert _levels(db) == ({}, {})


def test_skip_scan_matches_distinct_across_users_and_priorities(db: Database) -> None:
    layout = [(u, p, NEW) for u in (1, 2, 3) for p in (0, 5) for _ in range(3)]
    layout += [(4, 9, NEW), (5, 5, DONE), (6, 0, RUNNING), (2, 9, NEW)]
    _queue(db, layout)
    scanned, distinct = _levels(db)
    assert {p: sorted(u) for p, u in scanned.items()} == {
        p: sorted(u) for p, u in distinct.items()
    }
    assert sorted(scanned) == [0, 5, 9]
    assert len(scanned[9]) == 2  # users 4 and 2; 5 and 6 have nothing queued


PAIRS = claim_levels.SKIP_SCAN_PAIRS


@pytest.mark.parametrize("users", [PAIRS - 1, PAIRS + 5])
def test_many_users_fall_back_to_distinct_with_the_same_answer(db: Database, users: int) -> None:
    _queue(db, [(u, 5, NEW) for u in range(users)])
    scanned, distinct = _levels(db)
    assert sorted(scanned[5]) == sorted(distinct[5]) and len(scanned[5]) == users
