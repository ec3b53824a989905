"""store/queries: each element transition's guarded statement, on SQLite and PostgreSQL.

Every guard refuses an element in the wrong status or under another lease
token (it changes nothing, and says so: row count 0) and accepts the right
one (row count 1, the values written).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, select

from haul.domain.enums import Command, JobStatus, JobType
from haul.domain.transitions import Requeue, requeue, requeued_from
from haul.store.clock import utcnow
from haul.store.database import Database
from haul.store.queries import heartbeats, lease_lost, leased, steering
from haul.store.tables import Element, Job, User

NEW, SUBMITTED, RUNNING = JobStatus.NEW, JobStatus.SUBMITTED, JobStatus.RUNNING
DONE, FAILED, CANCELLED = JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED


def _job(db: Database, statuses: list[JobStatus], expired: bool = False) -> int:
    """A job whose element ``i`` has ``statuses[i]``; leased ones hold token ``tok.i``."""
    now = utcnow()
    expires = now - timedelta(minutes=1) if expired else now + timedelta(minutes=5)
    with db.write() as s:
        user = User(email=f"q{len(statuses)}{expired}@example.org", name="queries")
        s.add(user)
        s.flush()
        job = Job(user_id=user.id, type=int(JobType.COPY), protocol=0, log_uid="q", extra_opts={})
        s.add(job)
        s.flush()
        for i, status in enumerate(statuses):
            held = status in (SUBMITTED, RUNNING)
            s.add(
                Element(
                    job_id=job.id, id=i, user_id=user.id, type=int(JobType.COPY),
                    status=int(status), lease_token=f"tok.{i}" if held else None,
                    lease_expires=expires if held else None, started=now if held else None,
                )
            )
        return job.id


def _states(db: Database, job_id: int) -> list[tuple[JobStatus, str | None]]:
    with db.read() as s:
        rows = s.execute(
            select(Element.status, Element.command).where(Element.job_id == job_id)
            .order_by(Element.id)
        )
        return [(JobStatus(status), command) for status, command in rows]


def test_cancel_queued_ends_only_queued_elements(db: Database) -> None:
    job_id = _job(db, [NEW, RUNNING, DONE])
    with db.write() as s:
        assert steering.cancel_queued(s, [job_id], [1, 2]) == 0  # leased and done: refused
        assert steering.cancel_queued(s, [job_id], [0]) == 1
    assert [st for st, _ in _states(db, job_id)] == [CANCELLED, RUNNING, DONE]
    with db.write() as s:
        assert steering.cancel_queued(s, [job_id]) == 0  # nothing queued is left
        assert steering.cancel_queued(s, []) == 0


def test_signal_running_tells_only_leased_elements(db: Database) -> None:
    job_id = _job(db, [NEW, SUBMITTED, RUNNING, FAILED])
    with db.write() as s:
        assert steering.signal_running(s, [job_id], [0, 3]) == 0
        assert steering.signal_running(s, [job_id]) == 2
    assert _states(db, job_id) == [
        (NEW, None), (SUBMITTED, Command.CANCEL), (RUNNING, Command.CANCEL), (FAILED, None)
    ]


def test_requeue_takes_only_the_statuses_its_event_starts_from(db: Database) -> None:
    job_id = _job(db, [DONE, FAILED, CANCELLED, RUNNING])
    values = {k: int(v) if isinstance(v, JobStatus) else v
              for k, v in (requeue(Requeue.RETRY, FAILED) or {}).items()}
    with db.write() as s:
        retry_from = requeued_from(Requeue.RETRY)
        assert steering.requeue(s, job_id, retry_from, values, (Element.id.in_([0, 3]),)) == 0
        assert steering.requeue(s, job_id, retry_from, values) == 2
    assert [st for st, _ in _states(db, job_id)] == [DONE, NEW, NEW, RUNNING]
    with db.write() as s:  # reactivate starts from every status: no status guard
        assert steering.requeue(s, job_id, requeued_from(Requeue.REACTIVATE), values) == 4


def test_expired_leases_reads_only_leased_elements_past_their_lease(db: Database) -> None:
    _job(db, [RUNNING])  # a live lease: not read
    gone = _job(db, [NEW, RUNNING, SUBMITTED, DONE], expired=True)
    with db.write() as s:
        rows = lease_lost.expired_leases(s, utcnow(), 10)
    assert [(r.job_id, r.id, r.lease_token) for r in rows] == [
        (gone, 1, "tok.1"), (gone, 2, "tok.2")
    ]


def _lose(db: Database, job_id: int, element_id: int, token: str | None) -> bool:
    with db.write() as s:
        return lease_lost.lose_lease(
            s, job_id, element_id, token, status=NEW, attempts=1, attempt_seq=1,
            not_before=None, now=utcnow(),
        )


def test_lose_lease_is_guarded_by_token_status_and_expiry(db: Database) -> None:
    gone = _job(db, [RUNNING, DONE], expired=True)
    live = _job(db, [RUNNING])
    assert _lose(db, gone, 0, "tok.other") is False  # another lease
    assert _lose(db, gone, 1, None) is False  # not leased any more
    assert _lose(db, live, 0, "tok.0") is False  # the lease has not run out
    assert _lose(db, gone, 0, "tok.0") is True
    with db.read() as s:
        e = s.get(Element, (gone, 0))
        assert e is not None
        assert (e.status, e.attempts, e.lease_token, e.lease_expires) == (int(NEW), 1, None, None)
    assert _lose(db, gone, 0, "tok.0") is False  # done once: the second time changes nothing


def _beat(job_id: int, element_id: int, token: str) -> heartbeats.Beat:
    later = utcnow() + timedelta(minutes=10)
    return heartbeats.Beat(job_id, element_id, token, later, None, {"transferred": 7})


def test_a_beat_extends_only_the_current_lease(db: Database) -> None:
    job_id = _job(db, [SUBMITTED, DONE, RUNNING])
    with db.write() as s:
        assert heartbeats.extend_leases(s, [_beat(job_id, 0, "tok.other")]) == 0
        assert heartbeats.extend_leases(s, [_beat(job_id, 1, "tok.1")]) == 0  # not leased
        assert heartbeats.extend_leases(s, []) == 0
    sane = db.engine.dialect.supports_sane_multi_rowcount
    with db.write() as s:
        beats = [_beat(job_id, 2, "tok.2"), _beat(job_id, 0, "tok.0"), _beat(job_id, 1, "x")]
        assert heartbeats.extend_leases(s, beats) == (2 if sane else 3)
    with db.read() as s:
        e = s.get(Element, (job_id, 0))
        assert e is not None and e.status == int(RUNNING) and e.progress == {"transferred": 7}


_TAKE = leased.guarded_update(timestamp=bindparam("v_now"))


def test_a_results_guarded_update_returns_only_the_elements_it_changed(db: Database) -> None:
    job_id = _job(db, [SUBMITTED, RUNNING, DONE, RUNNING])
    items = [(0, "tok.0"), (1, "tok.other"), (2, "tok.2"), (3, "tok.3")]
    with db.write() as s:
        won = leased.write_leased(s, _TAKE, job_id, items, {"v_now": utcnow()})
    assert sorted(won) == [0, 3]
