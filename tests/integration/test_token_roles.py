"""What worker and metrics tokens may call (issue 10, points 6 and 14), over HTTP."""

from __future__ import annotations

import uuid

import httpx

from tests.harness import ServerProcess
from tests.integration.api import S, ScriptedWorker, U, W

WORKER_ONLY = "worker tokens may only use the worker protocol"
METRICS_ONLY = "metrics tokens may only read /metrics"


def test_a_worker_token_is_refused_everywhere_but_the_worker_protocol(
    iso_server: ServerProcess, iso_worker: ScriptedWorker
) -> None:
    owner = iso_server.new_user()
    private = owner.site(f"private-{uuid.uuid4().hex[:6]}", endpoints=["dummy://private/"])
    with iso_server.client(iso_worker.token) as wc:
        refused = [
            wc.get(f"{S}/site"),
            wc.get(f"{S}/site/{private}"),
            wc.post(f"{W}/jobs", json={"type": "LIST", "src_siteid": private,
                                       "src_filepath": "/"}),
            wc.get(f"{W}/jobs"),
            wc.get("/whoami"),
            wc.get(f"{U}/tokens"),
            wc.post(f"{U}/tokens", json={"name": "more"}),
            wc.post(f"{W}/files", content=b"bytes"),
            wc.get("/metrics"),
        ]
        for r in refused:
            assert r.status_code == 403, (r.request.method, r.request.url, r.text)
            assert r.json()["detail"] == WORKER_ONLY
        # The dashboard takes no worker token either, even as a cookie.
        r = httpx.get(f"{iso_server.url}/web/jobs", cookies={"haul_token": iso_worker.token})
        assert r.status_code == 403 and r.json()["detail"] == WORKER_ONLY
        # The worker protocol, /hello and / still answer.
        assert wc.get("/hello").status_code == 200
        assert wc.get("/").status_code == 200
        assert iso_worker.claim(["LIST"]) == []
        r = wc.put(f"{W}/worker/results", json=[])
        assert r.status_code == 200, r.text
    # pdm's X-Token header works for workers as for users.
    r = httpx.post(f"{iso_server.url}{W}/worker/jobs", json={"types": ["LIST"]},
                   headers={"X-Token": iso_worker.token})
    assert r.status_code == 404 and r.json()["detail"] == "No work to be done."
    with httpx.Client(base_url=iso_server.url, headers={"X-Token": owner.token}) as oc:
        assert oc.get(f"{S}/site/{private}").status_code == 200
    # Admin tokens still work everywhere, the worker protocol included.
    with iso_server.admin() as ac:
        assert ac.get(f"{S}/site/{private}").status_code == 200
        r = ac.post(f"{W}/worker/jobs", json={"types": ["LIST"]})
        assert r.status_code == 404
    # A user token is no worker.
    with owner.client() as oc:
        r = oc.post(f"{W}/worker/jobs", json={"types": ["LIST"]})
        assert r.status_code == 403 and r.json()["detail"] == "this needs the worker role"


def test_metrics_need_an_admin_or_a_metrics_token(server: ServerProcess) -> None:
    out = server.cli("admin", "add-metrics-token", f"prom-{uuid.uuid4().hex[:6]}")
    token = out.stdout.strip().splitlines()[-1]
    assert token.startswith("haul_")
    anonymous = httpx.get(f"{server.url}/metrics")
    assert anonymous.status_code == 401
    assert "haul_queue_elements" not in anonymous.text
    with server.new_user().client() as c:
        r = c.get("/metrics")
        assert r.status_code == 403
        assert r.json()["detail"] == "reading /metrics needs an admin or metrics token"
    for t in (token, server.admin_token):
        r = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {t}"})
        assert r.status_code == 200, r.text
        assert "haul_queue_elements" in r.text
    # A metrics token reads /metrics and nothing else.
    with server.client(token) as c:
        for r in (c.get("/whoami"), c.get(f"{S}/site"), c.post(f"{W}/worker/jobs", json={})):
            assert r.status_code == 403, (r.request.url, r.text)
        assert c.get("/whoami").json()["detail"] == METRICS_ONLY


def test_polled_reads_check_token_role_and_owner_in_their_own_transaction(
    server: ServerProcess, worker_token: str
) -> None:
    """Job status and detail look the token up on the handler's own hop (server/threaded.py):
    the same answers as every other route, for every kind of caller."""
    owner, other = server.new_user(), server.new_user()
    src = owner.site(f"poll-{uuid.uuid4().hex[:6]}", endpoints=["dummy://poll/?files=1&size=0"])
    with owner.client() as oc:
        r = oc.post(f"{W}/copy", json={"src_siteid": src, "src_filepath": "/",
                                       "dst_siteid": src, "dst_filepath": "/out"})
        assert r.status_code in (200, 201), r.text
        job = r.json()["id"]
    for path in (f"{W}/jobs/{job}/status", f"{W}/jobs/{job}"):
        assert httpx.get(f"{server.url}{path}").status_code == 401
        bad = httpx.get(f"{server.url}{path}", headers={"Authorization": "Bearer haul_nope"})
        assert bad.status_code == 401 and bad.json()["detail"] == "invalid or revoked token"
        with server.client(worker_token) as wc:
            r = wc.get(path)
            assert r.status_code == 403 and r.json()["detail"] == WORKER_ONLY
        with other.client() as xc:
            assert xc.get(path).status_code == 404
        r = httpx.get(f"{server.url}{path}", headers={"X-Token": owner.token})
        key = "jobid" if path.endswith("status") else "id"
        assert r.status_code == 200 and r.json()[key] == job
        with server.admin() as ac:
            assert ac.get(path).status_code == 200
