"""``/metrics`` scraped after a real worker ran known work: the numbers match what ran."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.harness import ServerProcess, worker_command
from tests.integration.api import W, dedicated_server

FILES, SIZE = 3, 4096

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(srv: ServerProcess) -> Samples:
    headers = {"Authorization": f"Bearer {srv.admin_token}"}
    r = httpx.get(f"{srv.url}/metrics", headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    out: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum over every label set that includes ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


@pytest.fixture(scope="module")
def mserver(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home: Path = tmp_path_factory.mktemp("mhome")
    with dedicated_server(db_url, home) as srv:
        yield srv


def wait_for(c: httpx.Client, job_id: int, statuses: set[str], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = c.get(f"{W}/jobs/{job_id}/status").json()["status"]
        if status in statuses:
            return status
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {status} after {timeout}s")


def test_metrics_match_a_real_run(mserver: ServerProcess) -> None:
    user = mserver.new_user()
    src_name, dst_name = "metrics-src", "metrics-dst"
    src = user.site(src_name, endpoints=[f"dummy://msrc/?files={FILES}&size={SIZE}"])
    dst = user.site(dst_name, endpoints=["dummy://mdst/"])
    before = scrape(mserver)
    token = mserver.new_worker()
    worker = subprocess.Popen(
        [*worker_command(mserver.url, token), "--heartbeat-seconds", "1"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with user.client() as c:
            copy = c.post(
                f"{W}/jobs",
                json={
                    "type": "COPY",
                    "src_siteid": src,
                    "src_filepath": "/",
                    "dst_siteid": dst,
                    "dst_filepath": "/out",
                },
            ).json()["id"]
            missing = c.post(
                f"{W}/jobs",
                json={"type": "LIST", "src_siteid": src, "src_filepath": "/nope", "max_tries": 1},
            ).json()["id"]
            assert wait_for(c, copy, {"DONE", "FAILED"}) == "DONE"
            assert wait_for(c, missing, {"DONE", "FAILED"}) == "FAILED"
        after = scrape(mserver)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(20)

    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    # One LIST expanded the COPY into FILES copies; the second LIST failed for good.
    assert delta("haul_elements_finished_total", type="COPY", outcome="DONE") == FILES
    assert delta("haul_elements_finished_total", type="LIST", outcome="DONE") == 1
    assert delta("haul_elements_finished_total", type="LIST", outcome="FAILED") == 1
    assert delta("haul_elements_finished_total") == FILES + 2
    assert delta("haul_elements_claimed_total", type="COPY") == FILES
    assert delta("haul_elements_claimed_total", type="LIST") == 2
    assert delta("haul_element_errors_total", code="NOT_FOUND", scope="SOURCE") == 1
    assert delta("haul_element_errors_total") == 1
    assert value(after, "haul_bytes_transferred_total", src_site=src_name, dst_site=dst_name) == (
        FILES * SIZE
    )
    assert delta("haul_element_duration_seconds_count", type="COPY", outcome="DONE") == FILES
    assert delta("haul_element_duration_seconds_sum", type="COPY", outcome="DONE") > 0
    assert (
        value(after, "haul_element_duration_seconds_bucket", type="COPY", outcome="DONE", le="+Inf")
        == FILES
    )
    assert delta("haul_claim_seconds_count", outcome="work") >= 1
    assert delta("haul_claim_seconds_sum") > 0
    assert value(after, "haul_workers_active") == 1
    # Nothing is left in the queue.
    for state in ("pending", "queued", "running"):
        assert total(after, "haul_queue_load", state=state) == 0
    assert total(after, "haul_queue_elements") == 0


def test_metrics_queue_gauges(mserver: ServerProcess) -> None:
    """Queue depth is read from the database at scrape time (no worker runs here now)."""
    user = mserver.new_user()
    site = user.site(endpoints=["dummy://gauges/"])
    with user.client() as c:
        ids = [
            c.post(
                f"{W}/jobs", json={"type": "MKDIR", "src_siteid": site, "src_filepath": p}
            ).json()["id"]
            for p in ("/g1", "/g2", "/g3")
        ]
        assert c.post(f"{W}/jobs/{ids[0]}/pause").status_code == 200
    samples = scrape(mserver)
    assert value(samples, "haul_queue_elements", status="NEW", type="MKDIR") == 3
    assert value(samples, "haul_queue_load", state="queued", type="MKDIR") == 2
    assert value(samples, "haul_queue_load", state="pending", type="MKDIR") == 1
    assert value(samples, "haul_queue_load", state="running", type="MKDIR") == 0
    assert value(samples, "haul_queue_elements", status="RUNNING", type="COPY") == 0
