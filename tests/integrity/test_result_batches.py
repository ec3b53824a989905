"""Point 16: result batches answer per item, and a result racing the reaper never 500s.

Against a live server on SQLite and PostgreSQL; the scripted worker plays the
worker protocol, and the reaper is run from this process on the same database
(the server's own code, ``lose_expired``) so that it races the HTTP report.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from haul.domain.enums import JobStatus
from haul.services.reaper import lose_expired
from haul.services.reports import Policy
from haul.store.clock import utcnow
from haul.store.database import Database
from haul.store.tables import Attempt, Element
from tests.harness import ServerProcess, User
from tests.integration.api import ScriptedWorker, W


@pytest.fixture(scope="module")
def owner(own_server: ServerProcess) -> User:
    return own_server.new_user()


@pytest.fixture(scope="module")
def db(own_server: ServerProcess) -> Iterator[Database]:
    database = Database.connect(own_server.db_url)
    yield database
    database.dispose()


def _copy_job(owner: User, worker: ScriptedWorker, files: int, **extra: Any) -> tuple[int, dict]:
    """A COPY job whose LIST has run: ``files`` COPY elements, claimed; returns their leases."""
    src = owner.site(endpoints=[f"dummy://src-{uuid.uuid4().hex[:6]}/"])
    dst = owner.site(endpoints=[f"dummy://dst-{uuid.uuid4().hex[:6]}/"])
    with owner.client() as c:
        r = c.post(f"{W}/copy", json={"src_siteid": src, "src_filepath": "/d",
                                     "dst_siteid": dst, "dst_filepath": "/e", **extra})
        assert r.status_code == 200, r.text
        jid = r.json()["id"]
    token = worker.claim_elements(["LIST"])[(jid, 0)]
    listing = {"/d": [{"name": f"f{i}", "size": 10} for i in range(files)]}
    worker.succeed(jid, 0, token, listing=listing)
    leases = {k: t for k, t in worker.claim_elements(["COPY"], limit=files).items() if k[0] == jid}
    assert len(leases) == files
    return jid, leases


def _put_results(worker: ScriptedWorker, body: list[Any]) -> httpx.Response:
    with worker.client() as c:
        return c.put(f"{W}/worker/results", json=body)


def test_one_bad_item_fails_alone_and_the_rest_is_recorded(
    scripted: ScriptedWorker, owner: User
) -> None:
    jid, leases = _copy_job(owner, scripted, 3)
    with owner.client() as c:
        r = c.post(f"{W}/list", json={"src_siteid": owner.site(endpoints=["dummy://l/"]),
                                     "src_filepath": "/l"})
        list_jid = r.json()["id"]
    list_token = scripted.claim_elements(["LIST"])[(list_jid, 0)]
    (k1, t1), (k2, t2), (k3, t3) = sorted(leases.items())
    body = [
        {"jobid": k1[0], "elementid": k1[1], "token": t1, "returncode": 0, "bytes": 10},
        {"jobid": k2[0], "elementid": k2[1], "token": t2, "returncode": 0, "bytes": -5},
        "not an object",
        {"jobid": list_jid, "elementid": 0, "token": list_token, "returncode": 0,
         "listing": {"/l": "not a list"}},
        {"jobid": k3[0], "elementid": k3[1], "token": t3, "returncode": 0, "bytes": 10,
         "host": "bad\x00host"},
        {"jobid": jid, "elementid": 999, "token": "nope", "returncode": 0},
    ]
    r = _put_results(scripted, body)
    assert r.status_code == 200, r.text
    answers = r.json()
    assert len(answers) == len(body)
    assert answers[0] == {"jobid": k1[0], "elementid": k1[1], "code": 200, "status": "DONE"}
    assert answers[1]["code"] == 422 and "bytes" in answers[1]["detail"]
    assert (answers[1]["jobid"], answers[1]["elementid"]) == k2
    assert answers[2]["code"] == 422 and answers[2]["jobid"] is None
    assert answers[3]["code"] == 400 and answers[3]["detail"].startswith("listing")
    assert answers[4]["code"] == 400 and answers[4]["detail"].startswith("host")
    assert answers[5]["code"] == 404

    with owner.client() as c:
        states = {e["id"]: e["status"] for e in c.get(f"{W}/jobs/{jid}/elements").json()}
        assert states[k1[1]] == "DONE"
        assert states[k2[1]] == states[k3[1]] == "SUBMITTED"  # untouched, lease kept
        assert c.get(f"{W}/jobs/{list_jid}/elements/0/status").json()["status"] == "SUBMITTED"
    # The refused items still hold their leases and can be reported properly.
    r = _put_results(scripted, [
        {"jobid": k2[0], "elementid": k2[1], "token": t2, "returncode": 0, "bytes": 10},
        {"jobid": k3[0], "elementid": k3[1], "token": t3, "returncode": 0, "bytes": 10},
        {"jobid": list_jid, "elementid": 0, "token": list_token, "returncode": 0,
         "listing": {"/l": [{"name": "x", "size": 1}]}},
    ])
    assert [a["code"] for a in r.json()] == [200, 200, 200], r.text
    with owner.client() as c:
        assert c.get(f"{W}/jobs/{jid}/status").json()["status"] == "DONE"
        assert c.get(f"{W}/jobs/{list_jid}/status").json()["status"] == "DONE"


def test_a_body_that_is_no_json_list_is_refused_whole(scripted: ScriptedWorker) -> None:
    """The route parses its raw body itself (server/routers/worker.py: _items_of_json):
    bad JSON (400) and a body that is not a list (422) are refused whole, as when
    FastAPI parsed it (server/errors.py); an empty list is an empty answer."""
    with scripted.client() as c:
        headers = {"content-type": "application/json"}
        bad = c.put(f"{W}/worker/results", content=b'[{"jobid": 1,', headers=headers)
        assert bad.status_code == 400 and "not valid JSON" in bad.json()["detail"], bad.text
        one = c.put(f"{W}/worker/results", json={"jobid": 1, "elementid": 0})
        assert one.status_code == 422 and "valid list" in one.json()["detail"], one.text
        empty = c.put(f"{W}/worker/results", json=[])
        assert (empty.status_code, empty.json()) == (200, [])


def _expire(db: Database, jid: int) -> None:
    with db.write() as s:
        s.execute(update(Element).where(Element.job_id == jid, Element.lease_token.is_not(None))
                  .values(lease_expires=utcnow().replace(year=2000)))


def _race(
    worker: ScriptedWorker, db: Database, policy: Policy, body: list[Any], delay: float
) -> httpx.Response:
    """Sends ``body`` while the reaper runs; ``delay`` starts the reaper before, during or
    after the report is recorded."""
    answers: list[httpx.Response] = []
    errors: list[BaseException] = []

    def reap() -> None:
        time.sleep(delay)
        try:
            for _ in range(3):
                with db.write() as s:
                    lose_expired(s, policy)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    sender = threading.Thread(target=lambda: answers.append(_put_results(worker, body)))
    reaper = threading.Thread(target=reap)
    sender.start()
    reaper.start()
    sender.join(60)
    reaper.join(60)
    assert not errors, errors
    (r,) = answers
    return r


def test_a_result_racing_the_reaper_never_fails_and_leaves_consistent_state(
    scripted: ScriptedWorker, owner: User, db: Database
) -> None:
    policy = Policy(backoff_base=0.001, backoff_cap=0.001)
    outcomes: dict[int, int] = {}
    for rnd in range(12):
        jid, leases = _copy_job(owner, scripted, 20, max_tries=1)
        _expire(db, jid)
        body = [{"jobid": j, "elementid": e, "token": t, "returncode": 0, "bytes": 10,
                 "checksum": f"adler32:{e:08x}" if e % 2 else None}
                for (j, e), t in sorted(leases.items())]
        r = _race(scripted, db, policy, body, (rnd % 6) * 0.01)
        assert r.status_code == 200, r.text
        with db.read() as s:
            for answer in r.json():
                assert answer["code"] in (200, 409), answer
                outcomes[answer["code"]] = outcomes.get(answer["code"], 0) + 1
                row = s.get(Element, (jid, answer["elementid"]))
                assert row is not None and row.lease_token is None
                tries = list(s.scalars(select(Attempt).where(
                    Attempt.job_id == jid, Attempt.element_id == row.id)))
                assert [a.attempt for a in tries] == [1], "exactly one attempt, numbered 1"
                assert row.attempt_seq == 1 and row.attempts == 1
                if answer["code"] == 200:
                    assert row.status == JobStatus.DONE and tries[0].status == JobStatus.DONE
                else:
                    assert row.status == JobStatus.FAILED
                    assert tries[0].error["code"] == "LOST"
    assert outcomes.get(200, 0) + outcomes.get(409, 0) == 12 * 20
