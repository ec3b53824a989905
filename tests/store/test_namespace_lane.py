"""The claim's namespace lane against a real database: LISTs before their user's copies.

A user's COPY of a large tree queues thousands of elements; their LIST, MKDIR
or one-path REMOVE submitted afterwards must be in the next claim, whatever
its size cap, and a claim for the lane alone hands out nothing else.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import event

from haul.domain.enums import JobStatus, JobType
from haul.domain.lanes import namespace_sql
from haul.services import claims
from haul.store.database import Database
from haul.store.tables import Element, Job, User

NEW = int(JobStatus.NEW)
ALL_TYPES = [int(t) for t in JobType]


def _user(db: Database, n: int) -> int:
    with db.write() as session:
        user = User(email=f"lane{n}@example.org", name=f"lane{n}")
        session.add(user)
        session.flush()
        return user.id


def _job(
    db: Database,
    user_id: int,
    job_type: JobType,
    elements: list[tuple[JobType, str, int]],
    path: str = "/data",
    priority: int = 5,
) -> int:
    """A job whose current stage holds `elements`: (type, path, size) from id 0 on."""
    with db.write() as session:
        job = Job(
            user_id=user_id,
            type=int(job_type),
            protocol=0,
            log_uid=f"lane-{user_id}-{path}-{len(elements)}-{job_type.name}",
            extra_opts={},
            priority=priority,
            src_filepath=path,
        )
        session.add(job)
        session.flush()
        session.add_all(
            Element(
                job_id=job.id,
                id=n,
                user_id=user_id,
                type=int(kind),
                priority=priority,
                status=NEW,
                src_filepath=p,
                size=size,
            )
            for n, (kind, p, size) in enumerate(elements)
        )
        return job.id


def _copies(n: int, size: int = 1000) -> list[tuple[JobType, str, int]]:
    return [(JobType.COPY, f"/data/f{i}", size) for i in range(n)]


def _claim(
    db: Database,
    limit: int = 20,
    algorithm: Literal["BY_NUMBER", "BY_SIZE"] = "BY_NUMBER",
    size: int = claims.DEFAULT_SIZE,
    lane: Literal["all", "namespace"] = "all",
) -> list[tuple[int, int, int]]:
    with db.write() as session:
        req = claims.ClaimRequest(
            types=ALL_TYPES, algorithm=algorithm, limit=limit, size=size, lane=lane
        )
        pg = session.get_bind().dialect.name == "postgresql"
        return [(c.job_id, c.id, c.type) for c in claims.select_batch(session, req, pg)]


def test_a_list_goes_before_its_users_queued_copies(db: Database) -> None:
    user = _user(db, 1)
    copy_job = _job(db, user, JobType.COPY, _copies(500))
    list_job = _job(db, user, JobType.LIST, [(JobType.LIST, "/elsewhere", 0)], path="/elsewhere")
    chosen = _claim(db, limit=5)
    assert chosen[0] == (list_job, 0, int(JobType.LIST))
    assert [c[0] for c in chosen[1:]] == [copy_job] * 4
    # A claim that is all transfers otherwise does not hand the LIST out twice.
    assert len(set(chosen)) == len(chosen)


def test_a_big_by_size_claim_does_not_skip_the_lane(db: Database) -> None:
    user = _user(db, 2)
    _job(db, user, JobType.COPY, _copies(50, size=10**9))
    remove = _job(
        db, user, JobType.REMOVE, [(JobType.LIST, "/f", 0), (JobType.REMOVE, "/f", 10**10)], "/f"
    )
    chosen = _claim(db, limit=100, algorithm="BY_SIZE", size=2 * 10**9)
    # The one-path REMOVE (10 GB file) costs none of the 2 GB: two copies still fit.
    assert (remove, 0, int(JobType.LIST)) in chosen
    assert (remove, 1, int(JobType.REMOVE)) in chosen
    assert sum(1 for c in chosen if c[2] == int(JobType.COPY)) == 2, chosen


def test_a_trees_removals_stay_transfers(db: Database) -> None:
    user = _user(db, 3)
    tree = [(JobType.REMOVE, f"/tree/f{i}", 10) for i in range(1, 30)]
    tree_job = _job(db, user, JobType.REMOVE, [(JobType.LIST, "/tree", 0), *tree], "/tree")
    mkdir_job = _job(db, user, JobType.MKDIR, [(JobType.MKDIR, "/new", 0)], "/new")
    assert _claim(db, lane="namespace") == [
        (tree_job, 0, int(JobType.LIST)),
        (mkdir_job, 0, int(JobType.MKDIR)),
    ]


def test_a_namespace_claim_hands_out_nothing_else(db: Database) -> None:
    user = _user(db, 4)
    _job(db, user, JobType.COPY, _copies(10))
    assert _claim(db, lane="namespace") == []
    rename = _job(
        db,
        user,
        JobType.RENAME,
        [(JobType.LIST, "/a", 0), (JobType.RENAME, "/a", 0)],
        "/a",
    )
    assert _claim(db, lane="namespace") == [
        (rename, 0, int(JobType.LIST)),
        (rename, 1, int(JobType.RENAME)),
    ]


def test_the_lane_keeps_priority_and_fair_share(db: Database) -> None:
    a, b = _user(db, 5), _user(db, 6)
    lists_a = [
        _job(db, a, JobType.LIST, [(JobType.LIST, f"/a{i}", 0)], f"/a{i}") for i in range(3)
    ]
    list_b = _job(db, b, JobType.LIST, [(JobType.LIST, "/b", 0)], "/b")
    urgent = _job(db, b, JobType.LIST, [(JobType.LIST, "/u", 0)], "/u", priority=0)
    chosen = [c[0] for c in _claim(db, lane="namespace")]
    # Priority 0 first; then a's and b's round robin, oldest first for each.
    assert chosen == [urgent, lists_a[0], list_b, lists_a[1], lists_a[2]]


def test_the_lane_is_read_through_its_partial_index(db: Database) -> None:
    """The claim's own lane queries, explained: SQLite picks a partial index only
    for a query repeating its condition, PostgreSQL when its estimates favour
    it; without it the lane would read every queued copy of the user."""
    user = _user(db, 7)
    _job(db, user, JobType.COPY, _copies(5000))
    _job(db, user, JobType.LIST, [(JobType.LIST, "/l", 0)], "/l")
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if namespace_sql("elements.") in statement:
            seen.append((statement, params))

    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE elements" if not db.is_sqlite else "ANALYZE")
        conn.commit()
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert _claim(db, lane="namespace")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(seen) >= 2, seen  # the lane's levels and its candidates
    explain = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
    with db.engine.connect() as conn:
        for statement, params in seen:
            plan = conn.exec_driver_sql(explain + statement, params).all()
            used = " ".join(str(row) for row in plan)
            assert "ix_elements_lane" in used, (statement, plan)
