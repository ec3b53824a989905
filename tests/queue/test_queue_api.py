"""Load history, queue status, workers and explain over HTTP, on SQLite and PostgreSQL.

One scene is built per backend, with a scripted worker so every element sits
in a known state while the sampler records it:

- LIST (type 0): jobs A, D (priority 2) and E (another user) queued; job B
  (a COPY whose listing phase is a LIST element) paused, so pending.
- a custom type ``scan`` (category custom, priority 3) with no elements.
- MKDIR (type 4): m1 leased and reporting progress, m3 leased, m2 failed and
  backing off for a minute (pending), m4 queued.

so per tick: LIST pending 1, queued 3, running 0; MKDIR pending 1, queued 1,
running 2.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.harness import ServerProcess, User
from tests.integration.api import ScriptedWorker, W, is_iso
from tests.queue.conftest import SAMPLE_SECONDS


@dataclass
class Scene:
    server: ServerProcess
    alice: User
    bob: User
    worker: ScriptedWorker
    jobs: dict[str, int]
    leases: dict[str, str]
    since: str  # ISO time after the scene was complete


def _submit(c: httpx.Client, body: dict[str, Any]) -> int:
    r = c.post(f"{W}/jobs", json=body)
    assert r.status_code == 200, r.text
    return int(r.json()["id"])


def _wait_ticks(n: int = 3) -> None:
    time.sleep(SAMPLE_SECONDS * n + 0.3)


@pytest.fixture(scope="module")
def scene(qserver: ServerProcess) -> Scene:
    with qserver.admin() as c:
        r = c.post(f"{W}/job-types", json={"name": "scan", "category": "custom", "priority": 3})
        assert r.status_code == 201, r.text
    alice, bob = qserver.new_user(), qserver.new_user()
    site = alice.site(endpoints=["dummy://q/"])
    site2 = alice.site(endpoints=["dummy://q2/"])
    bob_site = bob.site(endpoints=["dummy://qb/"])
    worker = ScriptedWorker(qserver, qserver.new_worker())
    jobs: dict[str, int] = {}
    with alice.client() as c:
        for name in ("m1", "m2", "m3"):
            jobs[name] = _submit(
                c, {"type": "MKDIR", "src_siteid": site, "src_filepath": f"/{name}"}
            )
        leases = {
            name: token
            for (job_id, _), token in worker.claim_elements(["MKDIR"]).items()
            for name in jobs
            if jobs[name] == job_id
        }
        assert set(leases) == {"m1", "m2", "m3"}
        worker.heartbeat(jobs["m1"], 0, leases["m1"], transferred=1000, elapsed=1.0)
        worker.heartbeat(jobs["m1"], 0, leases["m1"], transferred=2500, elapsed=2.0)
        worker.fail(jobs["m2"], 0, leases["m2"], retryable=True, code="CONNECTION")
        jobs["m4"] = _submit(c, {"type": "MKDIR", "src_siteid": site, "src_filepath": "/m4"})
        jobs["A"] = _submit(c, {"type": "LIST", "src_siteid": site, "src_filepath": "/a"})
        jobs["B"] = _submit(
            c,
            {
                "type": "COPY",
                "src_siteid": site,
                "src_filepath": "/b",
                "dst_siteid": site2,
                "dst_filepath": "/b",
            },
        )
        r = c.post(f"{W}/jobs/{jobs['B']}/pause")
        assert r.status_code == 200, r.text
        jobs["D"] = _submit(
            c, {"type": "LIST", "src_siteid": site, "src_filepath": "/d", "priority": 2}
        )
    with bob.client() as c:
        jobs["E"] = _submit(c, {"type": "LIST", "src_siteid": bob_site, "src_filepath": "/e"})
    since = datetime.now(UTC).isoformat()
    _wait_ticks()
    return Scene(qserver, alice, bob, worker, jobs, leases, since)


def load(c: httpx.Client, **params: Any) -> httpx.Response:
    return c.get(f"{W}/load", params=params)


def _totals(body: dict[str, Any]) -> set[tuple[int, int, int]]:
    return {(r["pending_count"], r["queued_count"], r["running_count"]) for r in body["results"]}


# ---------------------------------------------------------------------------- /load


def test_load_counts_every_state(scene: Scene) -> None:
    with scene.alice.client() as c:
        r = load(c, started=scene.since)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == len(body["results"]) >= 2
    for row in body["results"]:
        assert set(row) == {"time", "pending_count", "queued_count", "running_count"}
        assert is_iso(row["time"].replace("Z", "+00:00"))
        assert row["time"] >= scene.since[:19]
    # LIST 1/3/0 plus MKDIR 1/1/2, at every tick since the scene was set.
    assert _totals(body) == {(2, 4, 2)}
    times = [row["time"] for row in body["results"]]
    assert times == sorted(times)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"job_type_name": "MKDIR"}, {(1, 1, 2)}),
        ({"job_type_name": "mkdir"}, {(1, 1, 2)}),
        ({"job_type_id": 0}, {(1, 3, 0)}),
        ({"job_type_id": [0, 4]}, {(2, 4, 2)}),
        ({"job_type_name": ["LIST", "MKDIR"]}, {(2, 4, 2)}),
        ({"job_type_category": "file"}, {(2, 4, 2)}),
        ({"job_type_category": "CUSTOM"}, {(0, 0, 0)}),
        ({"job_type_name": "scan"}, {(0, 0, 0)}),
        ({"job_type_priority": 5}, {(2, 4, 2)}),
        ({"job_type_priority": 3}, {(0, 0, 0)}),
        ({"job_type_id": 1, "job_type_name": "COPY"}, {(0, 0, 0)}),
    ],
)
def test_load_filters(scene: Scene, params: dict[str, Any], expected: set[Any]) -> None:
    with scene.alice.client() as c:
        r = load(c, started=scene.since, **params)
    assert r.status_code == 200, r.text
    assert r.json()["count"] >= 2
    assert _totals(r.json()) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"job_type_priority": 7},
        {"job_type_name": "no-such-type"},
        {"job_type_id": 0, "job_type_name": "MKDIR"},  # filters combine with AND
    ],
)
def test_load_filters_that_match_no_type(scene: Scene, params: dict[str, Any]) -> None:
    with scene.alice.client() as c:
        r = load(c, started=scene.since, **params)
    assert r.status_code == 200, r.text
    assert r.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_load_durations(scene: Scene) -> None:
    now = datetime.now(UTC)
    with scene.alice.client() as c:
        r = load(c, started="PT3H0M0S")
        assert r.status_code == 200, r.text
        assert r.json()["count"] >= 2
        first = datetime.fromisoformat(r.json()["results"][0]["time"].replace("Z", "+00:00"))
        assert first >= now - timedelta(hours=3, seconds=5)
        # A duration for `ended` also counts back from now: nothing is a day old here.
        r = load(c, started="P2D", ended="P1D")
        assert r.status_code == 200, r.text
        assert r.json()["count"] == 0
        # Weeks, days and fractional seconds; 31 days is still allowed.
        for ok in ("P1W", "P31D", "PT1.5S", "P1DT2H", "PT90M"):
            r = load(c, started=ok)
            assert r.status_code == 200, (ok, r.text)
        # The default range is the last week, ending now.
        r = load(c)
        assert r.status_code == 200 and r.json()["count"] >= 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"started": "P32D"}, "31 days"),
        ({"started": "P5W"}, "31 days"),
        ({"started": "2020-01-01T00:00:00Z", "ended": "2020-02-02T00:00:01Z"}, "31 days"),
        ({"started": "2020-03-01T00:00:00Z", "ended": "2020-02-01T00:00:00Z"}, "started"),
        ({"started": "yesterday"}, "started"),
        ({"ended": "P1Y"}, "ended"),
        ({"started": "PT"}, "started"),
        ({"started": "2020-13-01T00:00:00Z"}, "started"),
    ],
)
def test_load_refuses_bad_ranges(scene: Scene, params: dict[str, Any], field: str) -> None:
    with scene.alice.client() as c:
        r = load(c, **params)
    assert r.status_code == 400, r.text
    assert field in r.json()["detail"]


def test_load_bad_paging_and_auth(scene: Scene) -> None:
    with scene.alice.client() as c:
        assert load(c, page=0).status_code == 422
        assert load(c, page_size=0).status_code == 422
        assert load(c, page_size=1001).status_code == 422
        assert load(c, job_type_id="x").status_code == 422
    with scene.server.client() as anonymous:
        assert load(anonymous).status_code == 401


def test_load_pagination_links(scene: Scene) -> None:
    ended = datetime.now(UTC).isoformat()  # a fixed window: later ticks must not shift pages
    with scene.alice.client() as c:
        whole = load(c, started=scene.since, ended=ended, page_size=1000).json()
        count = whole["count"]
        assert count >= 3
        params = {
            "started": scene.since,
            "ended": ended,
            "page_size": 2,
            "job_type_name": ["LIST", "MKDIR"],
        }
        page = load(c, **params).json()
        assert page["count"] == count and page["previous"] is None
        seen = list(page["results"])
        pages = 1
        while page["next"]:
            link = urlsplit(page["next"])
            assert link.netloc == urlsplit(scene.server.url).netloc
            query = parse_qs(link.query)
            assert query["job_type_name"] == ["LIST", "MKDIR"]  # every filter survives
            assert query["started"] == [scene.since] and query["page_size"] == ["2"]
            assert query["page"] == [str(pages + 1)]
            r = c.get(page["next"])
            assert r.status_code == 200, r.text
            page = r.json()
            pages += 1
            assert page["previous"] is not None
            assert parse_qs(urlsplit(page["previous"]).query)["page"] == [str(pages - 1)]
            seen += page["results"]
        assert pages == (count + 1) // 2
        assert seen == whole["results"]
        # Past the end: an empty page that still links back.
        r = load(c, started=scene.since, ended=ended, page_size=2, page=pages + 5).json()
        assert r["results"] == [] and r["next"] is None and r["previous"] is not None


# -------------------------------------------------------------------- /queue/status


def test_queue_status(scene: Scene) -> None:
    with scene.bob.client() as c:
        r = c.get(f"{W}/queue/status")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["next"] is None and body["previous"] is None
    by_name = {row["job_type"]["name"]: row for row in body["results"]}
    assert body["count"] == len(body["results"]) == 2
    lst, mkdir = by_name["LIST"], by_name["MKDIR"]
    assert (lst["count"], lst["pending_count"], lst["running_count"]) == (3, 1, 0)
    assert (mkdir["count"], mkdir["pending_count"], mkdir["running_count"]) == (1, 1, 2)
    assert lst["highest_priority"] == 2 and mkdir["highest_priority"] == 5
    for row in (lst, mkdir):
        jt = row["job_type"]
        for key in ("id", "name", "version", "title", "description", "is_active", "is_paused"):
            assert key in jt
        assert jt["is_active"] is True and jt["is_paused"] is False
        assert is_iso(row["longest_queued"])
    assert lst["job_type"]["id"] == 0 and mkdir["job_type"]["id"] == 4
    # The busiest type comes first.
    assert body["results"][0]["job_type"]["name"] == "LIST"


# -------------------------------------------------------------------------- /workers


def test_workers_admin_only(scene: Scene) -> None:
    with scene.alice.client() as c:
        assert c.get(f"{W}/workers").status_code == 403
    with scene.server.client() as c:
        assert c.get(f"{W}/workers").status_code == 401


def test_workers_show_leases_and_bytes(scene: Scene) -> None:
    with scene.server.admin() as c:
        r = c.get(f"{W}/workers")
    assert r.status_code == 200, r.text
    body = r.json()
    me = [w for w in body["results"] if w["claimed"] > 0]
    assert len(me) == 1, body
    w = me[0]
    assert w["role"] == "worker" and w["active"] is True
    assert body["active"] >= 1
    for key in ("last_seen", "last_heartbeat", "last_claim", "last_result", "first_seen"):
        assert is_iso(w[key]), key
    assert w["types"] == ["MKDIR"] and w["protocols"] is None
    assert w["claimed"] == 3 and w["finished"] == 1  # m2's failure
    assert w["host"] == "test-host"
    held = {(e["jobid"], e["elementid"]): e for e in w["elements"]}
    assert w["held"] == 2
    assert set(held) == {(scene.jobs["m1"], 0), (scene.jobs["m3"], 0)}
    assert held[(scene.jobs["m1"], 0)]["status"] == "RUNNING"
    assert held[(scene.jobs["m1"], 0)]["transferred"] == 2500
    assert held[(scene.jobs["m3"], 0)]["status"] == "SUBMITTED"
    # Two heartbeats of 1000 then 2500 bytes moved 2500 bytes in all.
    assert w["bytes_last_minute"] == 2500


# -------------------------------------------------------------------------- explain


def explain(c: httpx.Client, job_id: int) -> dict[str, Any]:
    r = c.get(f"{W}/jobs/{job_id}/explain")
    assert r.status_code == 200, r.text
    return r.json()


def limits(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["limit"]: item for item in body["limits"]}


def test_explain_paused(scene: Scene) -> None:
    with scene.alice.client() as c:
        body = explain(c, scene.jobs["B"])
    assert body["status"] == "PAUSED"
    assert (body["waiting"], body["queued"], body["pending"]) == (1, 0, 1)
    assert "paused" in limits(body) and body["position"] is None
    assert "paused" in body["summary"]


def test_explain_backoff(scene: Scene) -> None:
    with scene.alice.client() as c:
        body = explain(c, scene.jobs["m2"])
    hold = limits(body)["backoff"]
    until = datetime.fromisoformat(hold["until"])
    assert timedelta(seconds=20) < until - datetime.now(UTC) <= timedelta(seconds=61)
    assert hold["elements"] == 1 and body["pending"] == 1 and body["queued"] == 0


def test_explain_priority_fair_share_and_no_worker(scene: Scene) -> None:
    with scene.alice.client() as c:
        body = explain(c, scene.jobs["A"])
    assert body["queued"] == 1 and body["pending"] == 0
    # D (priority 2) goes first; Bob holds no leases, so his E takes its turn before A.
    assert body["ahead"] == {"higher_priority": 1, "same_user": 0, "fair_share": 1}
    assert body["position"] == 2
    held = limits(body)
    assert held["priority"]["ahead"] == 1
    assert held["fair_share"]["ahead"] == 1
    # The only live worker asked for MKDIR work, so nothing serves this LIST.
    assert "no_worker" in held and "LIST" in held["no_worker"]["detail"]


def test_explain_next_in_line(scene: Scene) -> None:
    with scene.alice.client() as c:
        d = explain(c, scene.jobs["D"])
        m4 = explain(c, scene.jobs["m4"])
    assert d["position"] == 0 and "priority" not in limits(d)
    # m4 is a MKDIR, which the live worker serves; the leased ones do not block it.
    assert m4["position"] == 0 and m4["limits"] == [] and "next in line" in m4["summary"]


def test_explain_running_and_access(scene: Scene) -> None:
    with scene.alice.client() as c:
        body = explain(c, scene.jobs["m1"])
        assert body["waiting"] == 0 and body["running"] == 1 and body["limits"] == []
        assert c.get(f"{W}/jobs/{scene.jobs['E']}/explain").status_code == 404
        assert c.get(f"{W}/jobs/99999999/explain").status_code == 404
        assert c.get(f"{W}/jobs/-1/explain").status_code == 422
    with scene.server.admin() as c:
        assert explain(c, scene.jobs["E"])["jobid"] == scene.jobs["E"]


def test_a_paused_or_full_job_type_holds_its_elements(scene: Scene) -> None:
    """Pausing a type, or reaching its max_scheduled, turns its queued elements pending."""
    for change in ({"is_paused": True}, {"max_scheduled": 2}):
        with scene.server.admin() as c:
            r = c.patch(f"{W}/job-types/MKDIR/1", json=change)
            assert r.status_code == 200, r.text
        try:
            with scene.alice.client() as c:
                rows = c.get(f"{W}/queue/status").json()["results"]
                mkdir = {row["job_type"]["name"]: row for row in rows}["MKDIR"]
                assert (mkdir["count"], mkdir["pending_count"], mkdir["running_count"]) == (
                    0,
                    2,
                    2,
                ), change
                assert mkdir["job_type"]["is_paused"] is change.get("is_paused", False)
                body = explain(c, scene.jobs["m4"])
            assert body["queued"] == 0 and body["pending"] == 1
            assert limits(body)["job_type"]["types"] == ["MKDIR"]
        finally:
            with scene.server.admin() as c:
                undo = {"is_paused": False} if "is_paused" in change else {"max_scheduled": 1000}
                assert c.patch(f"{W}/job-types/MKDIR/1", json=undo).status_code == 200


# ------------------------------------------------------------ runs last: changes the scene


def test_worker_bytes_count_results_too(qserver: ServerProcess, scene: Scene) -> None:
    """A result's final byte count adds what the heartbeats had not reported yet.

    Runs last: it changes the scene the tests above read.
    """
    m3 = scene.jobs["m3"]
    scene.worker.heartbeat(m3, 0, scene.leases["m3"], transferred=400, elapsed=1.0)
    scene.worker.succeed(m3, 0, scene.leases["m3"], bytes=1000)
    with qserver.admin() as c:
        w = [w for w in c.get(f"{W}/workers").json()["results"] if w["claimed"] > 0][0]
    assert w["bytes_last_minute"] == 2500 + 1000
    assert w["held"] == 1 and w["finished"] == 2
