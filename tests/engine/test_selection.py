"""Which elements a claim hands out: BY_NUMBER, BY_SIZE, priority, fair share, pauses.

Elements with chosen sizes are made through the worker protocol itself: a
COPY job on a `dummy://` site, its LIST element claimed with a worker token
and reported DONE with a listing of the sizes we want. Each backend gets a
server of its own, and every test cancels its jobs afterwards, so each
claim sees exactly the queue the test built.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.engine.helpers import (
    TERMINAL,
    WORKER,
    WQ,
    claim,
    claimed_elements,
    fresh_server,
    submit,
)
from tests.harness import ServerProcess, User


@dataclass
class Queue:
    server: ServerProcess
    worker: httpx.Client
    user: User
    site: int
    jobs: list[tuple[User, int]] = field(default_factory=list)

    def job(self, sizes: list[int], priority: int = 5, user: User | None = None) -> int:
        """A COPY job whose expansion has one NEW element per size, in order."""
        owner = user or self.user
        site = self.site if user is None else owner.site(endpoints=["dummy://sel/"])
        with owner.client() as c:
            job_id = submit(
                c,
                type="COPY",
                src_siteid=site,
                src_filepath="/src",
                dst_siteid=site,
                dst_filepath="/dst",
                priority=priority,
            )
        self.jobs.append((owner, job_id))
        (lease,) = claimed_elements(claim(self.worker, ["LIST"], limit=1))
        assert (lease["job_id"], lease["id"]) == (job_id, 0)
        listing = {
            "/src": [{"name": f"f{i:04d}", "size": s, "is_dir": False} for i, s in enumerate(sizes)]
        }
        r = self.worker.put(
            f"{WORKER}/jobs/{job_id}/elements/0",
            json={"token": lease["token"], "returncode": 0, "listing": listing},
        )
        assert r.status_code == 200 and r.json()["status"] == "DONE", r.text
        return job_id

    def claim(self, **kwargs: object) -> list[dict[str, object]]:
        r = claim(self.worker, ["COPY"], **kwargs)  # type: ignore[arg-type]
        if r.status_code == 404:
            return []
        return claimed_elements(r)

    def cancel_all(self) -> None:
        for owner, job_id in self.jobs:
            with owner.client() as c:
                if c.get(f"{WQ}/jobs/{job_id}").json()["status"] not in TERMINAL:
                    r = c.post(f"{WQ}/jobs/{job_id}/cancel")
                    assert r.status_code == 200, r.text
        self.jobs.clear()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def selection_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, str, User]]:
    with fresh_server(request.param, tmp_path_factory.mktemp("selection")) as srv:
        yield srv, srv.new_worker(), srv.new_user()


@pytest.fixture
def q(selection_server: tuple[ServerProcess, str, User]) -> Iterator[Queue]:
    srv, token, user = selection_server
    with srv.client(token) as worker:
        queue = Queue(srv, worker, user, user.site(endpoints=["dummy://sel/"]))
        try:
            yield queue
        finally:
            queue.cancel_all()
        # Nothing of this test is left to claim for the next one.
        assert claim(worker, ["LIST", "COPY", "REMOVE", "RENAME", "MKDIR"]).status_code == 404


def _sizes(claimed: list[dict[str, object]]) -> list[object]:
    return sorted(e["size"] for e in claimed)  # type: ignore[type-var]


def test_empty_queue_is_404_and_types_are_required(q: Queue) -> None:
    r = claim(q.worker, ["COPY", "LIST"])
    assert r.status_code == 404
    assert r.json() == {"detail": "No work to be done."}
    for body in ({}, {"types": []}, {"algorithm": "BY_NUMBER"}):
        r = q.worker.post(f"{WORKER}/jobs", json=body)
        assert r.status_code == 400, (body, r.text)
        assert "types" in r.json()["detail"]


def test_claim_answers_pdm_shape_with_lease_per_element(q: Queue) -> None:
    job_id = q.job([5, 6])
    r = claim(q.worker, ["COPY"], limit=5)
    assert r.status_code == 200, r.text
    (job,) = r.json()
    assert job["id"] == job_id and job["type"] == "COPY"
    assert [e["id"] for e in job["elements"]] == [1, 2]
    tokens = {e["token"] for e in job["elements"]}
    assert len(tokens) == 2 and all(isinstance(t, str) and len(t) >= 16 for t in tokens)
    assert all(e["lease_expires"] for e in job["elements"])
    assert [e["size"] for e in job["elements"]] == [5, 6]
    assert [e["dst_filepath"] for e in job["elements"]] == ["/dst/f0000", "/dst/f0001"]


def test_by_number_takes_at_most_limit_default_20(q: Queue) -> None:
    q.job([1] * 30)
    first = q.claim()  # no algorithm.args: limit 20
    assert len(first) == 20
    second = q.claim(limit=7)
    assert len(second) == 7
    rest = q.claim(limit=20)
    assert len(rest) == 3
    ids = [e["id"] for e in first + second + rest]
    assert sorted(ids) == list(range(1, 31))  # oldest first, none twice
    assert q.claim(limit=20) == []


def test_by_size_skips_what_would_overflow_and_always_serves_one(q: Queue) -> None:
    q.job([100, 600, 300, 50, 80])
    # 100 fits; 600 would overflow (skipped, not a stop); 300 and 50 fit (450); 80 would not.
    assert _sizes(q.claim(algorithm="BY_SIZE", size=500)) == [50, 100, 300]
    # Only elements being claimed count: what is already leased does not use up `size`.
    # 600 alone is larger than `size`: still served, alone.
    assert _sizes(q.claim(algorithm="BY_SIZE", size=500)) == [600]
    assert _sizes(q.claim(algorithm="BY_SIZE", size=500)) == [80]
    assert q.claim(algorithm="BY_SIZE", size=500) == []


def test_by_size_serves_one_file_larger_than_size_and_defaults_to_150_mb(q: Queue) -> None:
    q.job([10_000])
    assert _sizes(q.claim(algorithm="BY_SIZE", size=100)) == [10_000]
    mb = 1_000_000
    q.job([100 * mb, 100 * mb, 40 * mb])
    # Default size 150 MB: 100 MB, (100 MB would make 200: skipped), 40 MB -> 140 MB.
    assert _sizes(q.claim(algorithm="BY_SIZE")) == [40 * mb, 100 * mb]
    assert _sizes(q.claim(algorithm="BY_SIZE")) == [100 * mb]


def test_priority_zero_goes_before_five(q: Queue) -> None:
    low = q.job([1, 1, 1], priority=5)
    urgent = q.job([1, 1, 1], priority=0)
    got = q.claim(limit=2)
    assert {e["job_id"] for e in got} == {urgent}
    got = q.claim(limit=2)
    assert [e["job_id"] for e in got].count(urgent) == 1
    assert [e["job_id"] for e in got].count(low) == 1


def test_fair_share_one_file_is_not_starved_by_a_big_older_job(
    q: Queue, selection_server: tuple[ServerProcess, str, User]
) -> None:
    srv = selection_server[0]
    a, b = srv.new_user(), srv.new_user()  # fresh users: nothing leased yet
    big = q.job([1] * 300, user=a)
    single = q.job([1], user=b)
    got = q.claim(limit=2)
    assert sorted(e["job_id"] for e in got) == sorted([big, single]), got


def test_paused_job_hands_out_nothing_until_resumed(q: Queue) -> None:
    job_id = q.job([1, 2, 3])
    with q.user.client() as c:
        r = c.post(f"{WQ}/jobs/{job_id}/pause")
        assert r.status_code == 200 and r.json()["status"] == "PAUSED", r.text
        r = claim(q.worker, ["COPY", "LIST"], limit=10)
        assert r.status_code == 404, r.text
        assert claim(q.worker, ["COPY"], algorithm="BY_SIZE", size=10**9).status_code == 404
        r = c.post(f"{WQ}/jobs/{job_id}/resume")
        assert r.status_code == 200, r.text
    assert _sizes(q.claim(limit=10)) == [1, 2, 3]


def test_paused_job_before_its_list_runs_hands_out_nothing(q: Queue, tmp_path: Path) -> None:
    with q.user.client() as c:
        job_id = submit(
            c, type="LIST", src_siteid=q.site, src_filepath="/", extra_opts={"depth": 1}
        )
        q.jobs.append((q.user, job_id))
        assert c.post(f"{WQ}/jobs/{job_id}/pause").status_code == 200
        assert claim(q.worker, ["LIST"]).status_code == 404
        assert c.post(f"{WQ}/jobs/{job_id}/resume").status_code == 200
    (lease,) = claimed_elements(claim(q.worker, ["LIST"]))
    assert (lease["job_id"], lease["id"]) == (job_id, 0)


def test_a_user_with_nothing_claimable_does_not_take_the_only_slot(
    q: Queue, selection_server: tuple[ServerProcess, str, User]
) -> None:
    """Regression: users come from an index scan of NEW elements; one whose work is
    paused (or of other types, or backing off) sorted first must not turn a
    claim of limit 1 into a 404 while another user has claimable work."""
    srv = selection_server[0]
    a, b = srv.new_user(), srv.new_user()  # a sorts first: lower id, nothing leased
    held = q.job([1, 1], user=a)
    with a.client() as c:
        assert c.post(f"{WQ}/jobs/{held}/pause").status_code == 200
    ready = q.job([1], user=b)
    got = q.claim(limit=1)
    assert [e["job_id"] for e in got] == [ready]
    # Asking only for a type the first user has none of is the same situation.
    with a.client() as c:
        assert c.post(f"{WQ}/jobs/{held}/resume").status_code == 200
    site_b = b.site(endpoints=["dummy://sel/"])
    with b.client() as c:
        listing_job = submit(c, type="LIST", src_siteid=site_b, src_filepath="/")
        q.jobs.append((b, listing_job))
    (lease,) = claimed_elements(claim(q.worker, ["LIST"], limit=1))
    assert (lease["job_id"], lease["id"]) == (listing_job, 0)
