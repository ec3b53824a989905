"""explain's place in line is where the claim takes the element, on SQLite and PostgreSQL.

One queue mixes what the claim's order weighs: the namespace lane (one-path
REMOVEs, a LIST) before transfers (a tree's REMOVEs, COPYs), priority, fair
share by leases held (one user holds a lease, so goes last in each round), and
a lane element older than its user's transfers, which the transfer pass skips
but which still uses up one of that user's turns. For every job, explain's
``position`` must be the index of the job's first element in one claim, for
that element's type, taking everything (services/claims.py select_batch).
"""

from __future__ import annotations

from haul.domain.claim_limits import MAX_BATCH
from haul.domain.enums import JobStatus, JobType
from haul.services import claims
from haul.services.explain import explain
from haul.store.database import Database
from haul.store.tables import Element, Job, User

NEW, SUBMITTED, DONE = int(JobStatus.NEW), int(JobStatus.SUBMITTED), int(JobStatus.DONE)
Spec = tuple[int, JobType, str, int]  # element id, type, path, status


def _user(db: Database, name: str) -> int:
    with db.write() as session:
        user = User(email=f"{name}@explain.example.org", name=name, role="admin")
        session.add(user)
        session.flush()
        return user.id


def _job(db: Database, user_id: int, job_type: JobType, path: str, elements: list[Spec],
         priority: int = 5) -> int:
    with db.write() as session:
        job = Job(user_id=user_id, type=int(job_type), protocol=0, extra_opts={},
                  log_uid=f"explain-{user_id}-{path}", priority=priority, src_filepath=path)
        session.add(job)
        session.flush()
        session.add_all(
            Element(job_id=job.id, id=n, user_id=user_id, type=int(kind), priority=priority,
                    status=status, src_filepath=p, size=10)
            for n, kind, p, status in elements
        )
        return job.id


def _tree_removal(db: Database, user_id: int, path: str, files: int, priority: int = 5) -> int:
    """A tree's REMOVE after its LIST: transfers, paths inside the tree."""
    listed = [(0, JobType.LIST, path, DONE)]
    removals = [(n, JobType.REMOVE, f"{path}/f{n}", NEW) for n in range(1, files + 1)]
    return _job(db, user_id, JobType.REMOVE, path, listed + removals, priority)


def _one_path_removal(db: Database, user_id: int, path: str, priority: int = 5) -> int:
    """A REMOVE of one path after its LIST: element 1, the job's own path (the lane)."""
    elements = [(0, JobType.LIST, path, DONE), (1, JobType.REMOVE, path, NEW)]
    return _job(db, user_id, JobType.REMOVE, path, elements, priority)


def _copies(db: Database, user_id: int, path: str, files: int) -> int:
    elements = [(0, JobType.LIST, path, DONE)] + [
        (n, JobType.COPY, f"{path}/f{n}", NEW) for n in range(1, files + 1)
    ]
    return _job(db, user_id, JobType.COPY, path, elements)


def _claim_order(db: Database, element_type: int) -> list[int]:
    """The jobs of one claim's elements, in the order the claim takes them."""
    with db.read() as session:
        req = claims.ClaimRequest(types=[element_type], limit=MAX_BATCH)
        pg = session.get_bind().dialect.name == "postgresql"
        return [c.job_id for c in claims.select_batch(session, req, pg)]


def test_explains_position_is_where_the_claim_takes_it(db: Database) -> None:
    a, b, c = _user(db, "ann"), _user(db, "bob"), _user(db, "cy")
    # Bob holds a lease: at each priority he comes after Ann and Cy in every round.
    _job(db, b, JobType.COPY, "/held", [(0, JobType.COPY, "/held", SUBMITTED)])
    jobs = {
        "c_one": _one_path_removal(db, c, "/c-one"),  # older than Cy's tree: costs a turn
        "a_tree": _tree_removal(db, a, "/a-tree", 3),
        "b_tree": _tree_removal(db, b, "/b-tree", 2),
        "c_tree": _tree_removal(db, c, "/c-tree", 4),
        "b_urgent": _tree_removal(db, b, "/b-urgent", 2, priority=2),
        "a_one": _one_path_removal(db, a, "/a-one"),
        "a_tree_later": _tree_removal(db, a, "/a-later", 2),  # behind Ann's first tree
        "b_one_late": _one_path_removal(db, b, "/b-one", priority=7),  # still before transfers
        "a_copies": _copies(db, a, "/a-copy", 2),
        "b_copies": _copies(db, b, "/b-copy", 3),
        "c_list": _job(db, c, JobType.LIST, "/c-list", [(0, JobType.LIST, "/c-list", NEW)]),
    }
    orders = {int(t): _claim_order(db, int(t)) for t in JobType}
    seen_keys: set[str] = set()
    with db.read() as session:
        admin = session.get(User, a)
        assert admin is not None
        for name, job_id in jobs.items():
            body = explain(session, admin, job_id)
            first = session.scalar(
                Element.__table__.select()
                .with_only_columns(Element.type)
                .where(Element.job_id == job_id, Element.status == NEW)
                .order_by(Element.id)
                .limit(1)
            )
            order = orders[int(first)]
            assert body["position"] == order.index(job_id), (name, body["ahead"], order)
            seen_keys |= {k for k, v in body["ahead"].items() if v}
    # The scene exercised every part of the order.
    assert seen_keys == {"namespace_lane", "higher_priority", "same_user", "fair_share"}


def test_a_transfer_is_told_it_waits_for_the_namespace_lane(db: Database) -> None:
    a, b = _user(db, "dee"), _user(db, "eve")
    tree = _tree_removal(db, a, "/tree", 2)
    _one_path_removal(db, b, "/one")
    with db.read() as session:
        owner = session.get(User, a)
        assert owner is not None
        body = explain(session, owner, tree)
    assert body["ahead"] == {
        "higher_priority": 0, "same_user": 0, "fair_share": 0, "namespace_lane": 1
    }
    assert body["position"] == 1
    held = {item["limit"]: item for item in body["limits"]}
    assert held["namespace_lane"]["ahead"] == 1
    assert "go before any transfer" in held["namespace_lane"]["detail"]
