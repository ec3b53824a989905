"""Prometheus metrics at ``/metrics``, and what the worker routes count into them.

Two kinds of numbers, kept apart on purpose:

- Queue gauges (depth by status and type, pending/queued/running, active
  workers) are read from the database at scrape time
  (``services/metric_reads.py``), so every server process answers the same
  and a restart loses nothing.
- Event counters and histograms (claims, finished elements by outcome,
  error codes, bytes by site pair, element durations, claim latency) count
  what this process handled, the usual Prometheus model: with several server
  processes, scrape each and let Prometheus sum them.

Each app has its own registry, so several apps in one Python process (tests)
never share counters. This module writes nothing to the database: the worker
routes' hooks (``server/work_hooks.py``) count here and record the worker's
activity through ``services/worker_bookkeeping.py``.
"""

from __future__ import annotations

import collections
import logging
import time
from bisect import bisect_left
from collections.abc import Iterator
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
from haul.server.deps import MetricsReader
from haul.services import metric_reads, worker_activity
from haul.services.reports import Result
from haul.store.clock import utcnow
from haul.store.database import Database

log = logging.getLogger("haul.metrics")

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600)
CLAIM_PATH_SUFFIX = "/worker/jobs"

router = APIRouter()


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
            gauges = metric_reads.queue_gauges(session)
        for status, type_name, n in gauges.depth:
            depth.add_metric([status, type_name], n)
        for type_name, c in gauges.load:
            states.add_metric(["pending", type_name], c.pending)
            states.add_metric(["queued", type_name], c.queued)
            states.add_metric(["running", type_name], c.running)
        active.add_metric([], gauges.active_workers)
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


# -- what the worker routes count (server/work_hooks.py calls these) -------------


def of(request: Request) -> Metrics | None:
    """The app's metrics, if it installed them."""
    return getattr(request.app.state, "metrics", None)


def count_claimed(request: Request, elements: list[dict[str, Any]]) -> None:
    m = of(request)
    if m is not None:
        # One labelled child per type and claim, not a labels() lookup per element.
        by_type = collections.Counter(str(e.get("type", "?")) for e in elements)
        for kind, n in by_type.items():
            m.claimed.labels(kind).inc(n)


def count_heartbeats(request: Request, n: int) -> None:
    m = of(request)
    if m is not None:
        m.heartbeats.inc(n)


def count_results(
    request: Request,
    session: Session,
    accepted: list[tuple[Result, str]],
    facts: dict[tuple[int, int], Any] | None = None,
    job_facts: dict[int, Any] | None = None,
) -> None:
    """Accepted results, each with its outcome's name; never fails the report."""
    m = of(request)
    if m is None:
        return
    try:
        _count_results(session, m, accepted, facts, job_facts)
    except Exception:  # metrics must never fail a worker's report
        log.exception("counting results failed")


def observe_many(child: Any, amounts: list[float]) -> None:
    """``child.observe`` of each amount (negatives as 0), in one pass per bucket.

    A result batch observes hundreds of durations into a few labelled
    children; ``Histogram.observe`` scans the buckets and takes a lock per
    call. This counts each bucket's share first and adds it once, through the
    child's own value objects (prometheus_client's non-cumulative buckets,
    summed at collection); a client without them is observed one by one.
    """
    bounds = getattr(child, "_upper_bounds", None)
    buckets = getattr(child, "_buckets", None)
    total = getattr(child, "_sum", None)
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        for a in amounts:
            child.observe(max(a, 0.0))
        return
    child._raise_if_not_observable()
    counts = collections.Counter(bisect_left(bounds, a if a > 0.0 else 0.0) for a in amounts)
    total.inc(sum(a for a in amounts if a > 0.0))
    for i, n in counts.items():
        buckets[i].inc(n)


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
    naive_now = now.replace(tzinfo=None)  # SQLite's rows are naive UTC (store/clock.py)
    name_of = metric_reads.type_namer(session)
    by_job: dict[int, list[int]] = {}
    for r, _ in accepted:
        by_job.setdefault(r.job_id, []).append(r.element_id)
    rows = (
        facts
        if facts is not None
        else metric_reads.element_facts(session, [(r.job_id, r.element_id) for r, _ in accepted])
    )
    # Each (type, outcome) label's durations, observed together: one labelled
    # child and one pass over its buckets per label and batch, not per element.
    counted: dict[tuple[str, str], int] = {}
    durations: dict[tuple[str, str], list[float]] = {}
    jobs = (
        job_facts
        if job_facts is not None and all(j in job_facts for j in by_job)
        else metric_reads.job_sites(session, by_job)
    )
    copied_ids: dict[tuple[int | None, int | None], int] = {}
    done = JobStatus.NEW.name
    for r, outcome in accepted:
        row = rows.get((r.job_id, r.element_id))
        if row is None:
            continue
        key = (name_of(row.type), outcome)
        counted[key] = counted.get(key, 0) + 1
        started = row.started
        if started is not None:
            since = ((naive_now if started.tzinfo is None else now) - started).total_seconds()
            taken = durations.get(key)
            if taken is None:
                durations[key] = [since]
            else:
                taken.append(since)
        if r.returncode != 0:
            err = r.error or NO_DETAILS  # parsed, codes and scopes upper-cased
            m.errors.labels(str(err.code), err.scope.value).inc()
        if r.bytes and row.type == JobType.COPY and r.returncode == 0:
            job = jobs.get(r.job_id)
            if job is not None:
                ids = (job.src_siteid, job.dst_siteid)
                copied_ids[ids] = copied_ids.get(ids, 0) + r.bytes
    finished: dict[tuple[str, str], int] = {}
    for (kind, outcome), n in counted.items():
        label = "RETRY" if outcome == done else outcome
        finished[(kind, label)] = finished.get((kind, label), 0) + n
        seconds = durations.get((kind, outcome))
        if seconds:
            observe_many(m.duration.labels(kind, label), seconds)
    for (kind, label), n in finished.items():
        m.finished.labels(kind, label).inc(n)
    if not copied_ids:
        return
    site_ids = {s for pair in copied_ids for s in pair if s is not None}
    names = metric_reads.names_of_sites(session, site_ids)
    copied: dict[tuple[str, str], int] = {}
    for (src_id, dst_id), n in copied_ids.items():
        pair = (names.get(src_id, str(src_id)), names.get(dst_id, str(dst_id)))
        copied[pair] = copied.get(pair, 0) + n
    for (src, dst), n in copied.items():
        m.bytes.labels(src, dst).inc(n)
