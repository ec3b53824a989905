"""store/queries/claim.py: what a claim may take, and its lease write, on SQLite and PostgreSQL.

The condition takes only queued, due elements of a running job's current
stage on no banned site; the candidates come oldest first and, locked, pass
over rows another claim holds (PostgreSQL); the lease takes only queued
elements and says how many it took.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from haul.domain.enums import JobProtocol, JobStatus, JobType
from haul.store.clock import utcnow
from haul.store.database import Database
from haul.store.queries import claim
from haul.store.tables import Element, Job, Site, User

COPY = int(JobType.COPY)


def _job(db: Database, n: int, email: str = "claim@example.org", **job: object) -> tuple[int, int]:
    """A job of ``n`` queued COPY elements; (user id, job id)."""
    with db.write() as s:
        user = s.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name="claim")
            s.add(user)
            s.flush()
        fields = {"protocol": 0, **job}
        row = Job(user_id=user.id, type=COPY, log_uid="c", extra_opts={}, **fields)
        s.add(row)
        s.flush()
        s.add_all(
            Element(job_id=row.id, id=i, user_id=user.id, type=COPY, status=int(JobStatus.NEW))
            for i in range(n)
        )
        return user.id, row.id


def _claimable_jobs(db: Database, condition: object) -> list[int]:
    with db.read() as s:
        q = (
            select(Element.job_id).join(Job, Job.id == Element.job_id)
            .where(condition).distinct().order_by(Element.job_id)
        )
        return list(s.scalars(q))


def test_claimable_takes_only_due_elements_of_running_jobs_on_no_banned_site(
    db: Database,
) -> None:
    with db.write() as s:
        owner = User(email="sites@example.org", name="sites")
        s.add(owner)
        s.flush()
        good, banned = Site(name="good", owner_id=owner.id), Site(name="banned", owner_id=owner.id)
        s.add_all([good, banned])
        s.flush()
        good_id, banned_id = good.id, banned.id
    _, ok = _job(db, 1, src_siteid=good_id)
    _job(db, 1, src_siteid=good_id, paused=True)
    _job(db, 1, src_siteid=good_id, cancelled=True)
    _job(db, 1, src_siteid=good_id, stage=1)  # a later stage than the job's current one
    _, on_banned = _job(db, 1, src_siteid=good_id, dst_siteid=banned_id)
    _, other_protocol = _job(db, 1, src_siteid=good_id, protocol=int(JobProtocol.XROOTD))
    _, backing_off = _job(db, 1, src_siteid=good_id)
    with db.write() as s:
        s.execute(
            update(Element).where(Element.job_id == backing_off)
            .values(not_before=utcnow() + timedelta(hours=1))
        )
    now = utcnow()
    assert _claimable_jobs(db, claim.claimable(now, [COPY])) == sorted(
        [ok, on_banned, other_protocol]
    )
    assert _claimable_jobs(db, claim.claimable(now, [int(JobType.LIST)])) == []
    only_first = claim.claimable(now, [COPY], [JobProtocol.GRIDFTP], banned=[banned_id])
    assert _claimable_jobs(db, only_first) == [ok]


def test_candidates_come_oldest_first_and_locked_skip_what_another_claim_holds(
    db: Database,
) -> None:
    user_id, first = _job(db, 3)
    _, second = _job(db, 2)
    condition = claim.claimable(utcnow(), [COPY])
    with db.write() as s:
        found = claim.candidates(s, condition, 5, user_id, 4, lock=True)
        assert [c.key for c in found] == [(first, 0), (first, 1), (first, 2), (second, 0)]
        if db.engine.dialect.name == "postgresql":
            with db.write() as other:
                rest = claim.candidates(other, condition, 5, user_id, 10, lock=True)
            assert [c.key for c in rest] == [(second, 1)]


def test_lease_takes_only_queued_elements_and_counts_them(db: Database) -> None:
    user_id, job_id = _job(db, 3)
    _, other = _job(db, 1)
    with db.write() as s:
        s.execute(
            update(Element).where(Element.job_id == job_id, Element.id == 2)
            .values(status=int(JobStatus.DONE))
        )
    now = utcnow()
    keys = [(job_id, 0), (job_id, 1), (job_id, 2), (other, 0)]
    with db.write() as s:
        assert claim.lease(s, keys, "abc", now + timedelta(minutes=2), user_id, now) == 3
        assert claim.lease(s, keys, "def", now + timedelta(minutes=2), user_id, now) == 0
        assert claim.lease(s, [], "ghi", now, user_id, now) == 0
    with db.read() as s:
        rows = s.execute(
            select(Element.job_id, Element.id, Element.status, Element.lease_token)
            .order_by(Element.job_id, Element.id)
        ).all()
    leased = int(JobStatus.SUBMITTED)
    assert [tuple(r) for r in rows] == [
        (job_id, 0, leased, "abc.0"),
        (job_id, 1, leased, "abc.1"),
        (job_id, 2, int(JobStatus.DONE), None),
        (other, 0, leased, "abc.0"),
    ]
    with db.read() as s:
        assert claim.leased_counts(s) == {user_id: 3}
