"""``stages.after_results_many`` decides for a batch of jobs what ``after_results``
decides for each: the same stages, ends and "work was made", on SQLite and
PostgreSQL. And ``key_groups.rectangles`` covers exactly the keys it is given."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from haul.domain.enums import JobStatus, JobType
from haul.services.stages import after_results, after_results_many
from haul.store.database import Database
from haul.store.key_groups import rectangles
from haul.store.tables import Element, Job, User

NEW, DONE, SUBMITTED = int(JobStatus.NEW), int(JobStatus.DONE), int(JobStatus.SUBMITTED)
# (job stage, [(element status, element stage)]): busy, drained, next stage, nothing left.
SHAPES: list[tuple[int, list[tuple[int, int]]]] = [
    (0, [(DONE, 0), (NEW, 0)]),
    (0, [(DONE, 0), (SUBMITTED, 0), (DONE, 0)]),
    (0, [(DONE, 0), (DONE, 0)]),
    (0, [(DONE, 0), (NEW, 2), (NEW, 3)]),
    (2, [(DONE, 0), (NEW, 1)]),
    (1, [(DONE, 0), (DONE, 1)]),
]


def _make(db: Database, copies: int) -> list[int]:
    ids = []
    with db.write() as s:
        user = User(email=f"stages-{copies}@example.org", name="stages")
        s.add(user)
        s.flush()
        for _ in range(copies):
            for stage, elements in SHAPES:
                job = Job(
                    user_id=user.id,
                    type=int(JobType.COPY),
                    protocol=0,
                    log_uid="s",
                    extra_opts={},
                    stage=stage,
                )
                s.add(job)
                s.flush()
                for n, (status, el_stage) in enumerate(elements):
                    s.add(
                        Element(
                            job_id=job.id,
                            id=n,
                            user_id=user.id,
                            type=int(JobType.COPY),
                            status=status,
                            stage=el_stage,
                        )
                    )
                ids.append(job.id)
    return ids


def _rows(db: Database, ids: list[int]) -> list[Any]:
    with db.read() as s:
        return [
            SimpleNamespace(id=j.id, stage=j.stage, ended=j.ended)
            for j in s.scalars(select(Job).where(Job.id.in_(ids)).order_by(Job.id))
        ]


def _state(db: Database, ids: list[int]) -> list[tuple[int, bool]]:
    return [(r.stage, r.ended is not None) for r in _rows(db, ids)]


def test_many_decides_as_one_by_one(db: Database) -> None:
    one, many = _make(db, 1), _make(db, 2)
    with db.write() as s:
        made_one = [after_results(s, r) for r in _rows(db, one)]
    with db.write() as s:
        made_many = after_results_many(s, _rows(db, many))
    expected = _state(db, one)
    assert _state(db, many) == expected * 2
    assert made_many == any(made_one)
    # Stage 0 -> 2 for the fourth shape; the drained ones ended, the busy ones not.
    assert expected == [(0, False), (0, False), (0, True), (2, False), (2, False), (1, True)]


def test_rectangles_cover_exactly_the_keys() -> None:
    keys = {(1, 0), (2, 0), (3, 0), (3, 1), (4, 0), (4, 1), (5, 7)}
    covered = set()
    for jobs, ids in rectangles(sorted(keys)):
        for j in jobs:
            for i in ids:
                assert (j, i) not in covered
                covered.add((j, i))
    assert covered == keys
    many = [(j, 0) for j in range(2000)]
    parts = list(rectangles(many))
    assert sum(len(j) * len(i) for j, i in parts) == 2000
    assert all(len(j) <= 450 and len(j) + len(i) <= 900 for j, i in parts)
    one_big = list(rectangles([(7, i) for i in range(5000)]))
    assert sum(len(i) for _, i in one_big) == 5000 and len(one_big) == 6
