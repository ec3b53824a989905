"""The pull loop: claim batches, run them in threads, heartbeat, report in bulk.

Three kinds of threads share a small amount of state under one lock: the main
loop claims work while slots are free (and namespace work while the namespace
lane's thread is free, busy slots or not); executor threads run elements; the
reporter thread sends heartbeats for running elements and flushes finished
results in bulk. On SIGTERM the loop stops claiming and lets held elements
finish for `--grace-seconds`; then it cancels those still running (reported
as retryable LOST, so they run again elsewhere), skips those not started
(their leases expire), flushes results for at most FINAL_FLUSH_SECONDS more
and exits 0. A second signal ends the grace period at once. If the worker
dies instead, its leases expire on the server and the elements run again.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import datetime
from typing import Any

import httpx

from haul.domain.enums import SCHEME_PROTOCOLS, Command
from haul.domain.errors import ErrorCode, TransferError
from haul.domain.lanes import NAMESPACE_SLOTS, serves_namespace
from haul.protocol.claims import ClaimRequest
from haul.protocol.items import Outcome
from haul.protocol.leases import LeasedJob
from haul.protocol.results import ResultItem
from haul.storage.network_policy import parse_networks
from haul.storage.schemes import preload
from haul.worker.beats import beat_due, beat_of, encodable_beats, encodable_result
from haul.worker.claim_ahead import (
    DEFAULT_MAX_QUEUED,
    NAMESPACE_POLL_SECONDS,
    NAMESPACE_WANT,
    ClaimAhead,
    Want,
)
from haul.worker.claim_body import claim_body
from haul.worker.config import WorkerConfig
from haul.worker.element_threads import ElementThreads
from haul.worker.handlers import load_handlers
from haul.worker.heap import HeapTrimmer
from haul.worker.operations import Executor, Running
from haul.worker.protocol import ServerGone, Unencodable, WorkerAPI
from haul.worker.shutdown_limits import FINAL_FLUSH_SECONDS, THREAD_STOP_SECONDS

log = logging.getLogger("haul.worker")

# A running element's bytes reach the server at least this often (capped by
# --heartbeat-seconds), so every running element shows progress, even one
# that takes a second; leases are extended with the same beats.
PROGRESS_SECONDS = 1.0
# A queued element whose lease ends sooner than this is not started: its
# first heartbeat could not reach the server in time (it runs again elsewhere).
START_MARGIN_SECONDS = 1.0
# A finished result waits at most this long for others to share its request,
# while the worker still runs or holds elements whose results will follow.
# The server pays a fixed cost per request (its token, a transaction, a few
# bookkeeping queries per batch), which at hundreds of small files a second
# was most of its CPU; a worker with nothing else to run, a LIST (the
# server expands it into the job's work) and a full batch go at once.
GATHER_SECONDS = 0.1
GATHER_MAX = 500
PRELOADED = ("sftp", "root")  # backends imported at start, not by a first element (`preload`)

STOPPED = TransferError(
    ErrorCode.LOST,
    "the worker stopped before the element finished (grace period over)",
    retryable=True,
).to_dict()


class Worker:
    def __init__(self, cfg: WorkerConfig) -> None:
        self.cfg = cfg
        self.api = WorkerAPI(cfg.server, cfg.token, verify=cfg.verify_tls)
        handlers = load_handlers(cfg.handlers)
        self.executor = Executor(cfg.file_roots, handlers, parse_networks(cfg.allow_networks))
        self.executor.fetch_upload = self.api.fetch_upload
        self.executor.fuse_max_bytes = cfg.fuse_max_bytes
        self.executor.pins.report = self.api.pin_host_key
        for name in handlers:
            if name not in cfg.types:
                cfg.types = [*cfg.types, name]
        # One more thread for namespace operations (domain/lanes.py), which also
        # go first on the others: a LIST never waits behind large copies.
        lane = NAMESPACE_SLOTS if serves_namespace(cfg.types) else 0
        self.pool: ElementThreads[Running] = ElementThreads(
            cfg.concurrency, self._execute, reserved=lane
        )
        self.lock = threading.Lock()
        self.running: dict[tuple[int, int], Running] = {}
        max_queued = DEFAULT_MAX_QUEUED if cfg.prefetch is None else cfg.prefetch
        self.ahead = ClaimAhead(cfg.concurrency, max_queued)
        self.lane_asked = 0.0  # when namespace work was last asked for (_want)
        self.queued = 0  # held in self.running but not started
        self.queued_bytes = 0
        self.results: list[ResultItem] = []
        self.results_ready = threading.Event()
        self.urgent = False  # a waiting result makes work on the server (a LIST's listing)
        self.stopping = threading.Event()
        self.abandon = threading.Event()  # the grace period is over
        self.deadline: float | None = None  # monotonic end of the grace period
        self.reporter_done = threading.Event()
        self.completed = 0
        self.heap = HeapTrimmer()

    # -- signals -----------------------------------------------------------
    def install_signals(self) -> None:
        def stop(signum: int, _frame: Any) -> None:
            self.begin_stop(now=self.stopping.is_set())

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    def begin_stop(self, now: bool = False) -> None:
        """Claims no more; held elements get the grace period (none when `now`)."""
        grace = 0.0 if now else self.cfg.grace_seconds
        self.deadline = time.monotonic() + grace
        self.api.give_up_at = self.deadline + FINAL_FLUSH_SECONDS
        self.stopping.set()

    # -- main loop ------------------------------------------------------------
    def run(self) -> int:
        reporter = threading.Thread(target=self._report_loop, name="reporter", daemon=True)
        reporter.start()
        served = self.cfg.protocols
        # Only what this worker serves: an https-only worker needs no asyncssh (~20 MB).
        early = tuple(s for s in PRELOADED if served is None or SCHEME_PROTOCOLS[s].name in served)
        threading.Thread(target=preload, args=(early,), name="preload", daemon=True).start()
        idle = 0.2
        try:
            while not self.stopping.is_set():
                want = self._want()
                if want is None:
                    # Claim in batches: one claim per finished element would cost
                    # the server a full scheduling pass for a single lease.
                    time.sleep(0.01)
                    continue
                body = self._claim_body(want)
                asked = time.monotonic()
                try:
                    jobs = self.api.claim(body)
                except ServerGone as exc:
                    log.warning("cannot claim: %s", exc)
                    jobs = []
                except Exception as exc:  # a 4xx/5xx we cannot fix by retrying now
                    log.error("claim failed: %s", exc)
                    jobs = []
                # Every claim asks for namespace work, a long poll for as long as
                # it waits: the namespace-only poll counts from its answer.
                self.lane_asked = time.monotonic()
                if not jobs:
                    if self.cfg.once and not self._busy():
                        break
                    # A long poll that ran its course already waited on the
                    # server; ask again at once. Errors, and servers that answer
                    # 404 without waiting, get a growing pause instead.
                    if time.monotonic() - asked < body.get("wait", 0) / 2:
                        self.stopping.wait(idle)
                        idle = min(idle * 2, self.cfg.idle_max_seconds)
                    continue
                idle = 0.2
                lease = self._lease_seconds(jobs)
                deadline = None if lease is None else asked + lease
                for job in jobs:
                    for element in job.pop("elements"):
                        self._start(Running(job=job, element=element, lease_deadline=deadline))
        finally:
            self._shutdown(reporter)
        return 0

    def _shutdown(self, reporter: threading.Thread) -> None:
        if self.deadline is None:  # --once, or the loop ended on its own
            self.begin_stop()
        assert self.deadline is not None
        while self._holding() and time.monotonic() < self.deadline:
            time.sleep(0.05)
        if self._holding():
            self.abandon.set()
            with self.lock:
                runs = list(self.running.values())
            log.warning("grace period over: cancelling %d held elements", len(runs))
            for run in runs:
                run.stop(STOPPED)
        if not self.pool.shutdown(timeout=THREAD_STOP_SECONDS if self.abandon.is_set() else None):
            log.warning("some elements did not stop; exiting without their results")
        self.executor.storages.close()
        self.results_ready.set()
        reporter.join(FINAL_FLUSH_SECONDS + THREAD_STOP_SECONDS)
        self.api.close()

    def _holding(self) -> bool:
        with self.lock:
            return bool(self.running)

    def _busy(self) -> bool:
        with self.lock:
            return bool(self.running) or self.queued > 0 or bool(self.results)

    def _want(self) -> Want | None:
        with self.lock:
            started = len(self.running) - self.queued
            want = self.ahead.want(time.monotonic(), started, self.queued, self.queued_bytes)
        now = time.monotonic()
        if want is not None:
            # A claim on the "all" lane serves namespace operations first, so it
            # asks for them too: the namespace-only poll counts from it. (At the
            # start of a job of small files a namespace-only claim sent after
            # every transfer claim kept the loop from refilling the queue while
            # the slots emptied: 24 ms with nothing to run after the first batch.)
            self.lane_asked = now
            return want
        # Slots and queue full: still ask for namespace work if its lane is free
        # (--once does not poll, so it does not ask).
        due = now - self.lane_asked >= NAMESPACE_POLL_SECONDS
        if due and not self.cfg.once and self.pool.lane_free():
            self.lane_asked = now
            return NAMESPACE_WANT
        return None

    def _lease_seconds(self, jobs: list[LeasedJob]) -> float | None:
        """The lease the server granted, by its own clock (so skew does not matter)."""
        date = self.api.claim_date
        try:
            expires = datetime.fromisoformat(jobs[0]["elements"][0]["lease_expires"])
        except (IndexError, KeyError, TypeError, ValueError):
            return None
        if date is None or expires.tzinfo is None:
            return None
        # The Date header has whole seconds: count the lease a second short.
        seconds = (expires - date).total_seconds() - 1.0
        if seconds > 0:
            self.ahead.lease_seconds = seconds
        return seconds

    def _claim_body(self, want: Want) -> ClaimRequest:
        return claim_body(self.cfg, want, self._busy())

    def _start(self, run: Running) -> None:
        with self.lock:
            self.running[run.key] = run
            self.queued += 1
            self.queued_bytes += int(run.element.get("size") or 0)
        self.pool.submit(run, urgent=run.namespace)

    def _execute(self, run: Running) -> None:
        began = time.monotonic()
        with self.lock:
            self.queued -= 1
            self.queued_bytes -= int(run.element.get("size") or 0)
        late = run.lease_deadline is not None and began > run.lease_deadline - START_MARGIN_SECONDS
        if self.abandon.is_set() or late:
            with self.lock:  # never started: its lease expires and it runs elsewhere
                self.running.pop(run.key, None)
            if late:
                log.warning("element %s.%s: lease ran out while queued; not started", *run.key)
            return
        large = self.heap.begin(int(run.element.get("size") or 0))
        try:
            result = self.executor.run(run, lambda _r: None)
        finally:
            self.heap.end(large)
            with self.lock:
                self.running.pop(run.key, None)
        ended = time.monotonic()
        with self.lock:
            self.results.append(result)
            # A listing makes the job's work on the server, unless its one file
            # was copied with it (fused_copy.py): then it waits for company.
            self.urgent = self.urgent or ("listing" in result and "file" not in result)
            self.completed += 1
            self.ahead.finished(ended, int(result.get("bytes") or 0), ended - began)
            wake = self._wakes_reporter()
        if wake:
            self.results_ready.set()
        self.heap.moved(int(result.get("bytes") or 0))  # after large copies: memory back

    # -- reporter -------------------------------------------------------------
    def _report_loop(self) -> None:
        tick = min(PROGRESS_SECONDS, self.cfg.heartbeat_seconds)
        last_beat = time.monotonic()
        while True:
            self.results_ready.wait(timeout=min(0.5, tick))
            self.results_ready.clear()
            self._gather()
            self._flush_results()
            if time.monotonic() - last_beat >= tick:
                self._send_heartbeats()
                last_beat = time.monotonic()
            if self.stopping.is_set() and (not self._busy() or self._given_up()):
                self._flush_results()
                return

    def _ready(self) -> bool:
        """Under the lock: whether the waiting results should go now (see `_gather`)."""
        waiting = len(self.results)
        return (
            waiting == 0
            or waiting >= GATHER_MAX
            or not self.running  # nothing else will finish soon
            or self.urgent
        )

    def _wakes_reporter(self) -> bool:
        """Under the lock, after a result was added: whether the reporter must hear of it.

        It must for the first result waiting (that starts its gathering) and
        whenever the waiting results are ready to go; in between it sleeps out
        GATHER_SECONDS. Waking it for every small file was a thread switch, and
        a Condition's round, per element.
        """
        return len(self.results) == 1 or self._ready()

    def _gather(self) -> None:
        """Waits, at most GATHER_SECONDS, until the waiting results are worth a request."""
        deadline = time.monotonic() + GATHER_SECONDS
        while True:
            with self.lock:
                ready = self._ready()
            left = deadline - time.monotonic()
            if ready or left <= 0 or self.stopping.is_set():
                return
            self.results_ready.wait(left)
            self.results_ready.clear()

    def _given_up(self) -> bool:
        give_up = self.api.give_up_at
        return give_up is not None and time.monotonic() >= give_up

    def _flush_results(self) -> None:
        with self.lock:
            batch, self.results = self.results, []
            self.urgent = False
        if not batch:
            return
        try:
            try:
                answers = self.api.results(batch)
            except Unencodable:
                batch = [encodable_result(r) for r in batch]
                answers = self.api.results(batch)
        except (ServerGone, httpx.TransportError) as exc:
            if self._given_up():
                log.error("stopping: %d results not reported: %s", len(batch), exc)
                return
            log.error("could not report %d results: %s", len(batch), exc)
            with self.lock:  # only the network failed: keep them for the next flush
                self.results = batch + self.results
            time.sleep(1)
            return
        except Exception as exc:
            # The server refused the request, or a bug: sending the same bytes
            # again cannot help. The leases expire and the elements run again.
            log.error("could not report %d results, dropped: %s", len(batch), exc)
            return
        for a in answers:
            if a.get("code") != Outcome.ACCEPTED:
                log.warning(
                    "result for %s.%s refused: %s",
                    a.get("jobid"),
                    a.get("elementid"),
                    a.get("detail"),
                )

    def _send_heartbeats(self) -> None:
        with self.lock:
            runs = list(self.running.values())
        # Elements still queued are not heartbeated: their leases are long
        # enough to wait (claim_ahead.py queues a fraction of a lease), and
        # skipping them keeps the server's write load proportional to real
        # work. A running element is beaten when it is new, when its byte
        # count moved, and every --heartbeat-seconds to keep its lease.
        now = time.monotonic()
        runs = [r for r in runs if beat_due(r, now, self.cfg.heartbeat_seconds)]
        if not runs:
            return
        beats = [beat_of(run, now) for run in runs]
        try:
            try:
                answers = self.api.heartbeats(beats)
            except Unencodable:
                beats = encodable_beats(runs, beats)
                answers = self.api.heartbeats(beats) if beats else []
        except Exception as exc:
            log.warning("heartbeat failed: %s", exc)
            return
        for a in answers:
            key = (a.get("jobid"), a.get("elementid"))
            run = self.running.get(key)  # type: ignore[arg-type]
            if run is None:
                continue
            if a.get("code") == Outcome.STALE or a.get("command") == Command.CANCEL:
                # Lease gone or job cancelled: stop and let the result say so.
                run.cancel.set()
            elif a.get("command"):
                run.say(f"command from server: {a['command']}")
