"""What a type's settings do to scheduling: a paused type waits, max_scheduled caps leases.

Both are checked against two real worker processes with four slots each, so
without the setting the work would be taken at once.
"""

from __future__ import annotations

import time

import httpx

from tests.jobtypes.live import TERMINAL, JobTypesLive, W, element, job, submit, wait_job

LEASED = ("SUBMITTED", "RUNNING")


def test_paused_type_hands_out_no_leases(jt: JobTypesLive) -> None:
    jt.ensure_type("gated", is_paused=True)
    jt.ensure_type("echo")
    with jt.new_user().client() as c:
        held = submit(c, {"type": "gated", "request": {"n": 1}})
        # The same workers serve echo meanwhile: they are alive and claiming.
        control = submit(c, {"type": "echo", "request": {"n": 2}})
        assert wait_job(c, control["id"])["status"] == "DONE", jt.worker_logs()
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            assert job(c, held["id"])["status"] == "NEW"
            assert element(c, held["id"])["attempts"] == 0
            time.sleep(0.25)

        assert jt.patch_type("gated", is_paused=False)["is_paused"] is False
        assert wait_job(c, held["id"])["status"] == "DONE", jt.worker_logs()
        r = c.get(f"{W}/jobs/{held['id']}/result")
        assert r.json()["result"] == {"echo": {"n": 1}}


def _leased(c: httpx.Client) -> int:
    r = c.get(f"{W}/jobs", params=[("status", s) for s in LEASED])
    assert r.status_code == 200, r.text
    return int(r.headers["X-Total-Count"])


def _run_capped(jt: JobTypesLive, cap: int, jobs: int, seconds: float) -> tuple[int, list[dict]]:
    """Submits ``jobs`` slow jobs under ``cap``; answers the most seen leased and the results.

    One fresh user per run, so the sampled counts are exactly this run's jobs.
    """
    jt.ensure_type("capped", max_scheduled=cap)
    with jt.new_user().client() as c:
        ids = [
            submit(c, {"type": "capped", "request": {"seconds": seconds}})["id"]
            for _ in range(jobs)
        ]
        most = 0
        deadline = time.monotonic() + 60
        while True:
            most = max(most, _leased(c))
            statuses = [job(c, i)["status"] for i in ids]
            if all(s in TERMINAL for s in statuses):
                break
            assert time.monotonic() < deadline, f"capped jobs still {statuses}"
            time.sleep(0.05)
        assert statuses == ["DONE"] * jobs, jt.worker_logs()
        results = [c.get(f"{W}/jobs/{i}/result").json()["result"] for i in ids]
    return most, sorted(results, key=lambda r: r["start"])


def _most_at_once(runs: list[dict]) -> int:
    """The most handler runs that overlapped in wall-clock time."""
    edges = sorted([(r["start"], 1) for r in runs] + [(r["end"], -1) for r in runs])
    now = most = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def test_max_scheduled_caps_leases_across_workers(jt: JobTypesLive) -> None:
    most, runs = _run_capped(jt, cap=1, jobs=6, seconds=0.6)
    assert most == 1  # never two leased at once, and the sampling did see one
    assert _most_at_once(runs) == 1
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert earlier["end"] <= later["start"]

    # Raising the cap lets two run side by side: the cap, not the workers, held them back.
    most, runs = _run_capped(jt, cap=2, jobs=4, seconds=1.0)
    assert most <= 2
    assert _most_at_once(runs) == 2
    jt.patch_type("capped", max_scheduled=None)
