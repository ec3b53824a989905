"""store/queries/results.py: a result's guarded writes, on SQLite and PostgreSQL
(and the fused copy's write of the same ``Outcome``, store/queries/fused_copy.py).

Each write refuses an element in the wrong status or under another lease
token (it is not among the keys returned, or not counted) and writes the
right one: the outcome's values, the lease given back.
"""

from __future__ import annotations

from sqlalchemy import select

from haul.domain.enums import JobStatus
from haul.store.clock import utcnow
from haul.store.database import Database
from haul.store.queries import fused_copy, results
from haul.store.tables import Element
from tests.store.test_transition_queries import DONE, FAILED, NEW, RUNNING, SUBMITTED, _job


def _row(db: Database, job_id: int, element_id: int) -> Element:
    with db.read() as s:
        e = s.get(Element, (job_id, element_id))
        assert e is not None
        s.expunge(e)
        return e


def test_end_plain_writes_only_current_leases(db: Database) -> None:
    job_id = _job(db, [SUBMITTED, RUNNING, DONE, RUNNING, SUBMITTED])
    done, failed = int(DONE), int(FAILED)
    items = [
        (job_id, 0, "tok.0", done),
        (job_id, 1, "tok.other", done),  # another lease
        (job_id, 2, "tok.2", done),  # not leased
        (job_id, 3, "tok.3", failed),  # a second status: its own statement
        (job_id, 4, "tok.4", done),
    ]
    with db.write() as s:
        assert results.end_plain(s, items, utcnow()) == {(job_id, 0), (job_id, 3), (job_id, 4)}
        assert results.end_plain(s, [], utcnow()) == set()
    e = _row(db, job_id, 3)
    assert (e.status, e.attempts, e.attempt_seq, e.lease_token) == (failed, 1, 1, None)
    assert _row(db, job_id, 1).status == int(RUNNING)
    with db.write() as s:  # the lease is given back: the same report wins no more
        assert results.end_plain(s, items[:1], utcnow()) == set()


def test_end_plain_of_one_claims_jobs_matches_each_rows_own_token(db: Database) -> None:
    """Jobs leased by one claim share their tokens' form (``tok.<id>``): one
    statement writes them all, and a row re-leased since (another claim's
    token) or not leased is not matched, in whichever job it is."""
    a = _job(db, [SUBMITTED, RUNNING])
    b = _job(db, [SUBMITTED, SUBMITTED, DONE])
    with db.write() as s:
        s.get_one(Element, (b, 1)).lease_token = "tok2.1"  # leased again, by another claim
    done = int(DONE)
    items = [
        (a, 0, "tok.0", done),
        (a, 1, "tok.1", done),
        (b, 0, "tok.0", done),
        (b, 1, "tok.1", done),  # stale: a's element 1 holds this token, b's not
        (b, 2, "tok.2", done),  # not leased
    ]
    with db.write() as s:
        assert results.end_plain(s, items, utcnow()) == {(a, 0), (a, 1), (b, 0)}
    assert (_row(db, b, 1).status, _row(db, b, 1).lease_token) == (int(SUBMITTED), "tok2.1")
    assert _row(db, b, 2).attempts == 0
    with db.write() as s:
        assert results.end_plain(s, [(b, 1, "tok2.1", done)], utcnow()) == {(b, 1)}


def _outcome(job_id: int, element_id: int, status: JobStatus) -> results.Outcome:
    return results.Outcome(
        job_id=job_id, element_id=element_id, status=int(status), attempts=1, attempt_seq=3,
        now=utcnow(), checksum="adler32:0001", size=9, not_before=None, mode=None,
    )


def test_take_leases_then_end_judged_is_guarded_by_token_and_status(db: Database) -> None:
    job_id = _job(db, [RUNNING, SUBMITTED, DONE])
    keys = [(job_id, 0, "tok.0"), (job_id, 1, "tok.other"), (job_id, 2, "tok.2")]
    with db.write() as s:
        assert results.take_leases(s, keys, utcnow()) == {(job_id, 0)}
        assert results.take_leases(s, [], utcnow()) == set()
    sane = db.engine.dialect.supports_sane_multi_rowcount
    with db.write() as s:
        assert results.end_judged(s, []) == 0
        refused = [(_outcome(job_id, 1, NEW), "tok.other"), (_outcome(job_id, 2, NEW), "tok.2")]
        assert results.end_judged(s, refused) == (0 if sane else 2)
    with db.write() as s:
        assert results.end_judged(s, [(_outcome(job_id, 0, NEW), "tok.0")]) == 1
    e = _row(db, job_id, 0)
    assert (e.status, e.attempts, e.attempt_seq, e.checksum, e.size) == (
        int(NEW), 1, 3, "adler32:0001", 9
    )
    assert (e.lease_token, e.lease_expires) == (None, None)
    assert [_row(db, job_id, i).status for i in (1, 2)] == [int(SUBMITTED), int(DONE)]


def test_a_fused_copys_outcome_is_written_to_the_planned_element(db: Database) -> None:
    job_id = _job(db, [RUNNING, NEW])
    started = _row(db, job_id, 0).started
    with db.write() as s:
        fused_copy.write_file(s, _outcome(job_id, 1, DONE), None, started)
    with db.read() as s:
        status, seq = s.execute(
            select(Element.status, Element.attempt_seq).where(
                Element.job_id == job_id, Element.id == 1
            )
        ).one()
    assert (status, seq) == (int(DONE), 3)
