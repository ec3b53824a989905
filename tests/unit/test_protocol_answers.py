"""The server's answers pinned in their wire form: a lease, a heartbeat's answer, a result's.

Each answer is made by the services themselves, on a fresh SQLite database,
and checked two ways: its keys are exactly those the protocol declares
(``haul.protocol``), and pydantic validates it against the declaration.
The key lists below are the wire contract (pdm's names: a lease element says
``job_id``/``id``, heartbeats and results ``jobid``/``elementid``); they
change only with a new protocol version.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import TypeAdapter
from sqlalchemy import select

from haul.domain.enums import JobProtocol, JobStatus, JobType, Role
from haul.protocol.beats import BeatAnswer, BulkBeatAnswer
from haul.protocol.error_report import ErrorReport
from haul.protocol.items import ItemRefusal, Outcome, refusal
from haul.protocol.leases import LeasedElement, LeasedJob, SiteInfo
from haul.protocol.results import BulkResultAnswer, result_answer
from haul.security.secret_box import SecretBox
from haul.services import claims, heartbeats, reports
from haul.services.errors import BadRequest, Conflict, NotFound, accepted_or_raise
from haul.services.leases import Policy
from haul.store.database import Database
from haul.store.migrate import upgrade
from haul.store.tables import Attempt, Element, Job, Site, SiteEndpoint, User

JOB_KEYS = [
    "id", "user_id", "type", "src_siteid", "dst_siteid", "src_filepath", "dst_filepath",
    "extra_opts", "priority", "protocol", "log_uid", "request", "submitted", "src_site",
    "dst_site", "elements",
]  # fmt: skip
ELEMENT_KEYS = [
    "id", "job_id", "type", "src_filepath", "dst_filepath", "size", "attempts", "attempt_seq",
    "max_tries", "depth", "mode", "expect", "sources", "token", "lease_expires",
]  # fmt: skip
SITE_KEYS = [
    "site_id", "site_name", "def_path", "endpoints", "credential", "trusted", "host_key",
]  # fmt: skip
POLICY = Policy(lease_seconds=60, backoff_base=1.0, backoff_cap=2.0)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.connect(f"sqlite+pysqlite:///{tmp_path}/protocol.db")
    upgrade(database)
    try:
        yield database
    finally:
        database.dispose()


def _lease(db: Database, elements: int = 2) -> list[LeasedJob]:
    """Queues one COPY job of ``elements`` files between two sites and claims it."""
    with db.write() as s:
        user = User(email="wire@example.org", name="wire")
        worker = User(email="worker@example.org", name="worker", role=Role.WORKER)
        s.add_all([user, worker])
        s.flush()
        sites = [Site(name=n, owner_id=user.id, def_path="/data") for n in ("src", "dst")]
        s.add_all(sites)
        s.flush()
        s.add_all(
            SiteEndpoint(site_id=site.id, url=f"dummy://{site.name}/", scheme="dummy")
            for site in sites
        )
        job = Job(
            user_id=user.id, type=int(JobType.COPY), protocol=int(JobProtocol.DUMMY),
            log_uid="wire", extra_opts={}, src_siteid=sites[0].id, dst_siteid=sites[1].id,
            src_filepath="/in", dst_filepath="/out",
        )  # fmt: skip
        s.add(job)
        s.flush()
        s.add_all(
            Element(
                job_id=job.id, id=i, user_id=user.id, type=int(JobType.COPY), priority=5,
                status=int(JobStatus.NEW), src_filepath=f"/in/f{i}", dst_filepath=f"/out/f{i}",
                size=10 * i,
            )  # fmt: skip
            for i in range(1, elements + 1)
        )
        s.flush()
        box = SecretBox(Fernet.generate_key())
        req = claims.ClaimRequest(types=[int(JobType.COPY)], limit=elements)
        return claims.claim(s, box, worker, req, pg=False)


def _keys(typed: Any) -> list[str]:
    return list(typed.__annotations__)


def test_a_lease_has_the_fields_it_always_had(db: Database) -> None:
    jobs = json.loads(json.dumps(_lease(db)))  # what the worker reads
    assert [list(j) for j in jobs] == [JOB_KEYS]
    assert [list(e) for e in jobs[0]["elements"]] == [ELEMENT_KEYS, ELEMENT_KEYS]
    assert list(jobs[0]["src_site"]) == SITE_KEYS and list(jobs[0]["dst_site"]) == SITE_KEYS
    # ... and they are exactly what the protocol declares, in its order.
    assert _keys(LeasedJob) == JOB_KEYS
    # fuse_copy, the one optional key, is only on a path COPY's LIST (services/fused_copy.py)
    assert [k for k in _keys(LeasedElement) if k != "fuse_copy"] == ELEMENT_KEYS
    assert _keys(SiteInfo) == SITE_KEYS
    TypeAdapter(list[LeasedJob]).validate_python(jobs)
    element = jobs[0]["elements"][0]
    assert (element["job_id"], element["id"], element["type"]) == (jobs[0]["id"], 1, "COPY")
    assert element["token"].endswith(".1") and element["lease_expires"].endswith("+00:00")
    assert (jobs[0]["type"], jobs[0]["protocol"]) == ("COPY", "DUMMY")
    assert jobs[0]["src_site"]["endpoints"] == ["dummy://src/"]


def test_a_heartbeat_is_answered_with_its_command_and_lease(db: Database) -> None:
    element = _lease(db, 1)[0]["elements"][0]
    beat = heartbeats.Heartbeat(element["job_id"], element["id"], element["token"], 5, 1.0)
    stale = heartbeats.Heartbeat(element["job_id"], element["id"], "not-the-token")
    with db.write() as s:
        answers = heartbeats.heartbeats(s, [beat, stale], POLICY)
    with db.write() as s:
        single = heartbeats.heartbeat(s, beat, POLICY)
    ok, refused = json.loads(json.dumps(answers))
    assert list(ok) == ["jobid", "elementid", "code", "command", "lease_expires"]
    assert (ok["jobid"], ok["elementid"], ok["code"], ok["command"]) == (
        element["job_id"], element["id"], 200, None,
    )  # fmt: skip
    assert list(refused) == ["jobid", "elementid", "code", "detail"] and refused["code"] == 409
    TypeAdapter(BulkBeatAnswer).validate_python(ok)
    TypeAdapter(ItemRefusal).validate_python(refused)
    # The single route answers the same without the code.
    assert list(single) == _keys(BeatAnswer) == ["jobid", "elementid", "command", "lease_expires"]


def test_results_are_answered_item_by_item(db: Database) -> None:
    leased = _lease(db, 2)[0]["elements"]
    failure = ErrorReport.model_validate({"code": "connection", "scope": "source"})
    sent = [
        reports.Result(leased[0]["job_id"], leased[0]["id"], leased[0]["token"], 0, bytes=10),
        reports.Result(leased[1]["job_id"], leased[1]["id"], leased[1]["token"], 1, error=failure),
        reports.Result(leased[1]["job_id"], 99, "no-such-lease", 0),
    ]
    with db.write() as s:
        answers = json.loads(json.dumps(reports.record_results(s, sent, POLICY)))
    done, retried, unknown = answers
    assert done == {"jobid": leased[0]["job_id"], "elementid": 1, "code": 200, "status": "DONE"}
    assert retried == {"jobid": leased[1]["job_id"], "elementid": 2, "code": 200, "status": "NEW"}
    assert list(unknown) == ["jobid", "elementid", "code", "detail"] and unknown["code"] == 404
    TypeAdapter(list[BulkResultAnswer]).validate_python([done, retried])
    with db.read() as s:
        stored = s.scalars(select(Attempt.error).where(Attempt.element_id == 2)).one()
    # The report as parsed: codes and scopes upper-cased, defaults filled in.
    assert stored == {"code": "CONNECTION", "scope": "SOURCE", "retryable": True, "message": ""}


def test_an_items_outcome_travels_as_its_http_status() -> None:
    assert {o.name: int(o) for o in Outcome} == {
        "ACCEPTED": 200, "REFUSED": 400, "UNKNOWN": 404, "STALE": 409, "MALFORMED": 422,
    }  # fmt: skip
    item = refusal(1, 2, 409, "stale")  # as a service error's status
    assert item["code"] is Outcome.STALE
    wire = {"jobid": 1, "elementid": 2, "code": 409, "detail": "stale"}
    assert json.loads(json.dumps(item)) == wire
    assert json.dumps(result_answer(1, 2, "DONE")) == (
        '{"jobid": 1, "elementid": 2, "code": 200, "status": "DONE"}'
    )


@pytest.mark.parametrize(
    ("outcome", "error"),
    [
        (Outcome.REFUSED, BadRequest),
        (Outcome.UNKNOWN, NotFound),
        (Outcome.STALE, Conflict),
        (Outcome.MALFORMED, BadRequest),  # never from a service: the route validates first
    ],
)
def test_one_mapping_from_a_refusal_to_the_single_routes_error(
    outcome: Outcome, error: type[Exception]
) -> None:
    with pytest.raises(error) as caught:
        accepted_or_raise(refusal(1, 2, outcome, "why"))
    assert caught.type is error and str(caught.value) == "why"
    accepted = result_answer(1, 2, "DONE")
    assert accepted_or_raise(accepted) is accepted


def test_the_single_element_services_raise_their_items_refusals(db: Database) -> None:
    element = _lease(db, 1)[0]["elements"][0]
    job_id, element_id, token = element["job_id"], element["id"], element["token"]
    cases: list[tuple[Any, type[Exception]]] = [
        (lambda s: heartbeats.heartbeat(s, heartbeats.Heartbeat(job_id, 99, token), POLICY),
         NotFound),
        (lambda s: heartbeats.heartbeat(s, heartbeats.Heartbeat(job_id, element_id, "x"), POLICY),
         Conflict),
        (lambda s: reports.record_result(s, reports.Result(job_id, 99, token, 0), POLICY),
         NotFound),
        (lambda s: reports.record_result(s, reports.Result(job_id, element_id, "x", 0), POLICY),
         Conflict),
        (lambda s: reports.record_result(
            s, reports.Result(job_id, element_id, token, 0, host="bad\x00host"), POLICY),
         BadRequest),
    ]  # fmt: skip
    for call, error in cases:
        with db.write() as s, pytest.raises(error) as caught:
            call(s)
        assert caught.type is error
    with db.write() as s:
        beat = heartbeats.heartbeat(s, heartbeats.Heartbeat(job_id, element_id, token), POLICY)
        assert "code" not in beat
        done = reports.record_result(s, reports.Result(job_id, element_id, token, 0), POLICY)
    assert done == JobStatus.DONE
