"""Shared pieces of the control-verb and ban tests: job builders and small HTTP helpers.

Jobs are put into a given state with a ScriptedWorker (claim, heartbeat,
result over HTTP), so RUNNING elements stay RUNNING exactly as long as a test
wants. Every test leaves its jobs terminal, so a later claim only ever sees
the work of the test that makes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.harness import ServerProcess, User, until

W = "/workqueue/api/v1.0"
TERMINAL = {"DONE", "FAILED", "CANCELLED"}
STATES = ("NEW", "SUBMITTED", "RUNNING", "PAUSED", "DONE", "FAILED", "CANCELLED")
LISTING = [{"name": "a.dat", "size": 1, "is_dir": False}]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def ok(r: httpx.Response, code: int = 200) -> Any:
    assert r.status_code == code, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json()


def submit(c: httpx.Client, **body: Any) -> int:
    return int(ok(c.post(f"{W}/jobs", json=body))["id"])


def get_job(c: httpx.Client, job_id: int) -> dict[str, Any]:
    return ok(c.get(f"{W}/jobs/{job_id}"))


def get_elements(c: httpx.Client, job_id: int) -> list[dict[str, Any]]:
    return ok(c.get(f"{W}/jobs/{job_id}/elements", params={"limit": 1000}))


def snapshot(c: httpx.Client, job_id: int) -> dict[str, Any]:
    """What a refused verb must leave unchanged: the job's fields and its elements."""
    job = get_job(c, job_id)
    els = [
        (e["id"], e["status"], e["attempts"], e["max_tries"], e["timestamp"])
        for e in get_elements(c, job_id)
    ]
    return {"job": job, "elements": els}


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    return until(check, timeout, what, interval)


def wait_status(c: httpx.Client, job_id: int, statuses: set[str], timeout: float = 30) -> dict:
    def reached() -> dict[str, Any] | None:
        job = get_job(c, job_id)
        return job if job["status"] in statuses else None

    try:
        return wait_for(f"job {job_id} to reach {statuses}", reached, timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; job is {get_job(c, job_id)}") from None


@dataclass
class Worker:
    """ScriptedWorker's protocol on one long-lived HTTP client (a new client costs ~50 ms)."""

    http: httpx.Client

    def claim_elements(self, types: list[str], limit: int = 100) -> dict[tuple[int, int], str]:
        r = self.http.post(f"{W}/worker/jobs", json={
            "types": types, "algorithm": "BY_NUMBER", "algorithm.args": {"limit": limit},
        })
        if r.status_code == 404:
            return {}
        return {(e["job_id"], e["id"]): e["token"] for job in ok(r) for e in job["elements"]}

    def heartbeat(self, job_id: int, element_id: int, token: str, **progress: Any) -> Any:
        return ok(self.http.put(f"{W}/worker/jobs/{job_id}/elements/{element_id}/monitoring",
                                json={"token": token, **progress}))

    def report(self, job_id: int, element_id: int, token: str, returncode: int = 0,
               **extra: Any) -> httpx.Response:
        body = {"token": token, "returncode": returncode, "host": "test-host", **extra}
        return self.http.put(f"{W}/worker/jobs/{job_id}/elements/{element_id}", json=body)

    def succeed(self, job_id: int, element_id: int, token: str, **extra: Any) -> None:
        ok(self.report(job_id, element_id, token, 0, **extra))

    def fail(self, job_id: int, element_id: int, token: str, *, retryable: bool,
             code: str = "NOT_FOUND") -> None:
        error = {"code": code, "scope": "SOURCE", "retryable": retryable,
                 "message": f"{code.lower()} on the source"}
        ok(self.report(job_id, element_id, token, 1, error=error))


@dataclass
class Made:
    """A job put into a state; ``lease`` is the element-0 lease while it is leased."""

    job_id: int
    lease: str | None = None


@dataclass
class JobMaker:
    """Builds one-element LIST jobs in any state; cleans them up at the end of a test."""

    server: ServerProcess
    worker: Worker
    owner: User
    oc: httpx.Client  # the owner's
    site: int
    made: list[Made] = field(default_factory=list)

    def make(self, state: str, path: str = "/data") -> Made:
        c = self.oc
        jid = submit(c, type="LIST", src_siteid=self.site, src_filepath=path, max_tries=1)
        made = Made(jid)
        self.made.append(made)
        if state in ("SUBMITTED", "RUNNING", "DONE", "FAILED"):
            leases = self.worker.claim_elements(["LIST"], limit=1)
            assert list(leases) == [(jid, 0)], f"claimed {leases}, wanted job {jid}"
            made.lease = leases[(jid, 0)]
            if state == "RUNNING":
                self.worker.heartbeat(jid, 0, made.lease, transferred=0)
            elif state == "DONE":
                self.worker.succeed(jid, 0, made.lease, listing={path: LISTING})
                made.lease = None
            elif state == "FAILED":
                self.worker.fail(jid, 0, made.lease, retryable=False)
                made.lease = None
        elif state == "PAUSED":
            ok(c.post(f"{W}/jobs/{jid}/pause"))
        elif state == "CANCELLED":
            ok(c.post(f"{W}/jobs/{jid}/cancel"))
        assert get_job(c, jid)["status"] == state
        return made

    def cleanup(self) -> None:
        """Ends every job this maker built, so none of its work is left to claim."""
        c = self.oc
        for m in self.made:
            r = c.get(f"{W}/jobs/{m.job_id}")
            if r.status_code != 200 or r.json()["status"] in TERMINAL:
                continue
            c.post(f"{W}/jobs/{m.job_id}/cancel")
            if m.lease is not None:
                self.worker.report(m.job_id, 0, m.lease, 1, error={
                    "code": "CANCELLED", "scope": "TRANSFER", "retryable": False,
                    "message": "cancelled"})


def cancelled_error() -> dict[str, Any]:
    return {"code": "CANCELLED", "scope": "TRANSFER", "retryable": False, "message": "cancelled"}


def part_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".haul-part" in p.name]
