"""Prometheus metrics at ``/metrics``, and the hooks the worker routes call to feed them.

Two kinds of numbers, kept apart on purpose:

- Queue gauges (depth by status and type, pending/queued/running, active
  workers) are read from the database at scrape time, so every server
  process answers the same and a restart loses nothing.
- Event counters and histograms (claims, finished elements by outcome,
  error codes, bytes by site pair, element durations, claim latency) count
  what this process handled, the usual Prometheus model: with several server
  processes, scrape each and let Prometheus sum them.

Each app has its own registry, so several apps in one Python process (tests)
never share counters. The hooks also record worker activity in the database
(``services.worker_activity``) inside a savepoint: a failure there is logged and
never turns a worker's accepted report into an error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from haul.domain.enums import JobStatus, JobType
from haul.protocol.error_report import NO_DETAILS
from haul.protocol.items import Outcome
from haul.server.deps import MetricsReader
from haul.services import queue_load, worker_activity
from haul.services.job_types import type_name
from haul.services.reports import Heartbeat, Result
from haul.store.clock import as_utc, utcnow
from haul.store.database import Database
from haul.store.element_rows import ELEMENTS, load_rows
from haul.store.queries import element_reads
from haul.store.queries.names import site_names
from haul.store.tables import User

_COLUMNS = (ELEMENTS.c.type, ELEMENTS.c.started)

log = logging.getLogger("haul.metrics")

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600)
CLAIM_PATH_SUFFIX = "/worker/jobs"

router = APIRouter()


def _namer(session: Session) -> Callable[[int | str], str]:
    """Type names for metric labels, custom types looked up once per scrape or batch."""
    cache: dict[int, str] = {}

    def name(value: int | str) -> str:
        if isinstance(value, str):
            return value
        if value not in cache:
            cache[value] = type_name(session, value)
        return cache[value]

    return name


class QueueCollector(Collector):
    """Gauges read from the database on each scrape."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "haul_queue_elements",
            "Elements not yet finished, by status and element type",
            labels=["status", "type"],
        )
        states = GaugeMetricFamily(
            "haul_queue_load",
            "Elements pending (not claimable yet), queued (claimable) and running, by type",
            labels=["state", "type"],
        )
        active = GaugeMetricFamily(
            "haul_workers_active",
            f"Workers that contacted the server in the last {worker_activity.ACTIVE_SECONDS} s",
        )
        with self.db.read() as session:
            name_of = _namer(session)
            seen = element_reads.open_counts(session)
            for status in (JobStatus.NEW, JobStatus.SUBMITTED, JobStatus.RUNNING):
                for t in JobType:
                    seen.setdefault((int(status), int(t)), 0)
            for (status, type_id), n in sorted(seen.items()):
                depth.add_metric([JobStatus(status).name, name_of(type_id)], n)
            counts = queue_load.live_counts(session)
            for t in JobType:
                counts.setdefault(int(t), queue_load.Counts())
            for type_id, c in sorted(counts.items()):
                name = name_of(type_id)
                states.add_metric(["pending", name], c.pending)
                states.add_metric(["queued", name], c.queued)
                states.add_metric(["running", name], c.running)
            active.add_metric([], worker_activity.active_workers(session))
        yield depth
        yield states
        yield active


class Metrics:
    def __init__(self, db: Database) -> None:
        # ``*_created`` series double the output and no dashboard here reads them.
        disable_created_metrics()
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.claimed = Counter(
            "haul_elements_claimed", "Elements handed to workers, by type", ["type"], registry=r
        )
        self.finished = Counter(
            "haul_elements_finished",
            "Attempts reported by workers, by element type and outcome "
            "(DONE, FAILED, CANCELLED, or RETRY when a failure goes back to the queue)",
            ["type", "outcome"],
            registry=r,
        )
        self.errors = Counter(
            "haul_element_errors",
            "Failed attempts by error code and scope",
            ["code", "scope"],
            registry=r,
        )
        self.bytes = Counter(
            "haul_bytes_transferred",
            "Bytes copied by finished attempts, by source and destination site",
            ["src_site", "dst_site"],
            registry=r,
        )
        self.duration = Histogram(
            "haul_element_duration_seconds",
            "Time from lease to result of an attempt, by element type and outcome",
            ["type", "outcome"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.claim_seconds = Histogram(
            "haul_claim_seconds",
            "Time from a worker's claim to the answer, any long-poll wait included "
            "(outcome: work, empty or error)",
            ["outcome"],
            registry=r,
        )
        self.heartbeats = Counter("haul_heartbeats", "Heartbeats accepted from workers", registry=r)
        r.register(QueueCollector(db))

    def exposition(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


class ClaimTimer:
    """ASGI middleware timing the claim route, the one request every worker waits on."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].endswith(CLAIM_PATH_SUFFIX)
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            outcome = "work" if status == 200 else "empty" if status == 404 else "error"
            self.metrics.claim_seconds.labels(outcome).observe(time.perf_counter() - started)


def install(app: FastAPI, db: Database) -> Metrics:
    metrics = Metrics(db)
    app.state.metrics = metrics
    app.add_middleware(ClaimTimer, metrics=metrics)
    app.include_router(router, tags=["metrics"])
    return metrics


@router.get("/metrics", include_in_schema=True)
def scrape(request: Request, _: MetricsReader) -> Response:
    """Prometheus text exposition, for an admin token or a metrics token.

    The labels name sites and job types, which are not every caller's to see;
    Prometheus sends the token as ``authorization: {credentials: ...}``
    (``haul admin add-metrics-token`` makes one that can read nothing else).
    """
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


# -- hooks called by the worker routes after their service calls ------------------


def _metrics(request: Request) -> Metrics | None:
    return getattr(request.app.state, "metrics", None)


def _record_db(session: Session, what: str, write: Any) -> None:
    try:
        with session.begin_nested():
            write()
    except Exception:  # bookkeeping must never fail a worker's report
        log.exception("recording worker %s failed", what)


def claimed(
    request: Request,
    session: Session,
    worker: User,
    types: Iterable[Any] | None,
    protocols: Iterable[Any] | None,
    jobs: list[dict[str, Any]],
) -> None:
    elements = [e for job in jobs for e in job.get("elements", [])]
    m = _metrics(request)
    if m is not None:
        for e in elements:
            m.claimed.labels(str(e.get("type", "?"))).inc()
    _record_db(
        session,
        "claim",
        lambda: worker_activity.claimed(session, worker.id, types, protocols, len(elements)),
    )


def heartbeats(
    request: Request, session: Session, worker: User, beats: list[Heartbeat], replies: Any
) -> None:
    """``replies`` is the service's answer: one dict, or a list with a code per item."""
    ok = Outcome.ACCEPTED
    answers = replies if isinstance(replies, list) else [replies | {"code": ok}]
    accepted = [
        worker_activity.Progress(b.job_id, b.element_id, b.transferred)
        for b, a in zip(beats, answers, strict=False)
        if a.get("code") == ok
    ]
    m = _metrics(request)
    if m is not None:
        m.heartbeats.inc(len(accepted))
    if accepted:
        _record_db(
            session, "heartbeat", lambda: worker_activity.heartbeats(session, worker.id, accepted)
        )


def results(
    request: Request,
    session: Session,
    worker: User,
    sent: list[Result],
    answers: Any,
    facts: dict[tuple[int, int], Any] | None = None,
    job_facts: dict[int, Any] | None = None,
) -> None:
    """``answers``: a JobStatus for one result, or the bulk route's list of dicts.

    ``facts``: element rows the service already read (type, started), if any;
    ``job_facts``: their jobs' rows (id, src_siteid, dst_siteid), if read.
    """
    if isinstance(answers, list):
        ok = Outcome.ACCEPTED
        outcomes = [a.get("status") if a.get("code") == ok else None for a in answers]
    else:
        outcomes = [JobStatus(answers).name]
    accepted = [(r, o) for r, o in zip(sent, outcomes, strict=False) if o is not None]
    if not accepted:
        return
    m = _metrics(request)
    if m is not None:
        try:
            _count_results(session, m, accepted, facts, job_facts)
        except Exception:  # metrics must never fail a worker's report
            log.exception("counting results failed")
    progress = [worker_activity.Progress(r.job_id, r.element_id, r.bytes) for r, _ in accepted]
    host = next((r.host for r, _ in accepted if r.host), "")
    if accepted:
        _record_db(
            session,
            "result",
            lambda: worker_activity.results(session, worker.id, progress, host=host),
        )


def _count_results(
    session: Session,
    m: Metrics,
    accepted: list[tuple[Result, str]],
    facts: dict[tuple[int, int], Any] | None,
    job_facts: dict[int, Any] | None = None,
) -> None:
    """Counts a batch with a few plain-row queries: bulk results can hold thousands.

    Rows the result service already read are not read again; site names are
    looked up only when the batch copied bytes.
    """
    now = utcnow()
    name_of = _namer(session)
    by_job: dict[int, list[int]] = {}
    for r, _ in accepted:
        by_job.setdefault(r.job_id, []).append(r.element_id)
    rows = (
        facts
        if facts is not None
        else load_rows(session, [(r.job_id, r.element_id) for r, _ in accepted], _COLUMNS)
    )
    finished: dict[tuple[str, str], int] = {}
    durations: dict[tuple[str, str], Any] = {}  # labelled children, looked up once a batch
    jobs = (
        job_facts
        if job_facts is not None and all(j in job_facts for j in by_job)
        else element_reads.job_sites(session, by_job)
    )
    copied_ids: dict[tuple[int | None, int | None], int] = {}
    for r, outcome in accepted:
        row = rows.get((r.job_id, r.element_id))
        if row is None:
            continue
        kind = name_of(row.type)
        label = "RETRY" if outcome == JobStatus.NEW.name else outcome
        finished[(kind, label)] = finished.get((kind, label), 0) + 1
        started = as_utc(row.started)
        if started is not None:
            child = durations.get((kind, label))
            if child is None:
                child = durations[(kind, label)] = m.duration.labels(kind, label)
            child.observe(max((now - started).total_seconds(), 0.0))
        if r.returncode != 0:
            err = r.error or NO_DETAILS  # parsed, codes and scopes upper-cased
            m.errors.labels(str(err.code), err.scope.value).inc()
        job = jobs.get(r.job_id)
        if r.bytes and row.type == JobType.COPY and r.returncode == 0 and job is not None:
            ids = (job.src_siteid, job.dst_siteid)
            copied_ids[ids] = copied_ids.get(ids, 0) + r.bytes
    for (kind, label), n in finished.items():
        m.finished.labels(kind, label).inc(n)
    if not copied_ids:
        return
    site_ids = {s for pair in copied_ids for s in pair if s is not None}
    names = site_names(session, site_ids)
    copied: dict[tuple[str, str], int] = {}
    for (src_id, dst_id), n in copied_ids.items():
        pair = (names.get(src_id, str(src_id)), names.get(dst_id, str(dst_id)))
        copied[pair] = copied.get(pair, 0) + n
    for (src, dst), n in copied.items():
        m.bytes.labels(src, dst).inc(n)
