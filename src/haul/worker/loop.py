"""The pull loop: claim batches, run them in threads, heartbeat, report in bulk.

Three kinds of threads share a small amount of state under one lock: the main
loop claims work while slots are free; executor threads run elements; the
reporter thread sends heartbeats for running elements and flushes finished
results in bulk. On SIGTERM the loop stops claiming, lets running elements
finish, flushes every result and exits 0. If the worker dies instead, its
leases expire on the server and the elements run again elsewhere.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from haul.storage.network_policy import parse_networks
from haul.worker.element_threads import ElementThreads
from haul.worker.handlers import load_handlers
from haul.worker.operations import Executor, Running
from haul.worker.protocol import ServerGone, WorkerAPI

log = logging.getLogger("haul.worker")


@dataclass
class WorkerConfig:
    server: str
    token: str
    concurrency: int = 4
    types: list[str] = field(default_factory=lambda: ["LIST", "COPY", "REMOVE", "RENAME", "MKDIR"])
    protocols: list[str] | None = None
    lease_seconds: int | None = None
    heartbeat_seconds: float = 5.0
    prefetch: int = 0
    file_roots: list[str] = field(default_factory=list)
    idle_max_seconds: float = 2.0
    poll_seconds: float = 5.0
    verify_tls: bool = True
    once: bool = False
    handlers: list[str] = field(default_factory=list)  # TYPE=module:function
    # Networks that sites registered by non-admins may reach although they are
    # loopback, link-local, private... (see haul.storage.network_policy).
    allow_networks: list[str] = field(default_factory=list)


class Worker:
    def __init__(self, cfg: WorkerConfig) -> None:
        self.cfg = cfg
        self.api = WorkerAPI(cfg.server, cfg.token, verify=cfg.verify_tls)
        handlers = load_handlers(cfg.handlers)
        self.executor = Executor(cfg.file_roots, handlers, parse_networks(cfg.allow_networks))
        self.executor.fetch_upload = self.api.fetch_upload
        self.executor.pins.report = self.api.pin_host_key
        for name in handlers:
            if name not in cfg.types:
                cfg.types = [*cfg.types, name]
        self.pool: ElementThreads[Running] = ElementThreads(cfg.concurrency, self._execute)
        self.lock = threading.Lock()
        self.running: dict[tuple[int, int], Running] = {}
        self.queued = 0
        self.results: list[dict[str, Any]] = []
        self.results_ready = threading.Event()
        self.stopping = threading.Event()
        self.reporter_done = threading.Event()
        self.completed = 0

    # -- signals -----------------------------------------------------------
    def install_signals(self) -> None:
        def stop(signum: int, _frame: Any) -> None:
            log.info("signal %s: finishing held elements, claiming no more", signum)
            self.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    # -- main loop ------------------------------------------------------------
    def run(self) -> int:
        reporter = threading.Thread(target=self._report_loop, name="reporter", daemon=True)
        reporter.start()
        idle = 0.2
        try:
            while not self.stopping.is_set():
                free = self._free_slots()
                if free < self._claim_threshold() and self._busy():
                    # Claim in batches: one claim per finished element would cost
                    # the server a full scheduling pass for a single lease.
                    time.sleep(0.01)
                    continue
                body = self._claim_body(free)
                asked = time.monotonic()
                try:
                    jobs = self.api.claim(body)
                except ServerGone as exc:
                    log.warning("cannot claim: %s", exc)
                    jobs = []
                except Exception as exc:  # a 4xx/5xx we cannot fix by retrying now
                    log.error("claim failed: %s", exc)
                    jobs = []
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
                for job in jobs:
                    for element in job.pop("elements"):
                        self._start(Running(job=job, element=element))
        finally:
            self.pool.shutdown()
            self.executor.storages.close()
            self.stopping.set()
            self.results_ready.set()
            reporter.join()
            self.api.close()
        return 0

    def _busy(self) -> bool:
        with self.lock:
            return bool(self.running) or self.queued > 0 or bool(self.results)

    def _claim_threshold(self) -> int:
        return max(1, (self.cfg.concurrency + self.cfg.prefetch) // 2)

    def _free_slots(self) -> int:
        with self.lock:
            return self.cfg.concurrency + self.cfg.prefetch - len(self.running)

    def _claim_body(self, free: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "types": self.cfg.types,
            "algorithm": "BY_NUMBER",
            "algorithm.args": {"limit": free},
        }
        if self.cfg.protocols:
            body["protocols"] = self.cfg.protocols
        if self.cfg.lease_seconds:
            body["lease_seconds"] = self.cfg.lease_seconds
        if not self.cfg.once:
            # Long-poll, busy or not: new work (a LIST's expansion, another
            # user's job) reaches the worker the moment the server has it. A
            # busy worker waits at most a second, so SIGTERM is seen promptly.
            idle = not self._busy()
            body["wait"] = self.cfg.poll_seconds if idle else min(self.cfg.poll_seconds, 1.0)
        return body

    def _start(self, run: Running) -> None:
        with self.lock:
            self.running[run.key] = run
        self.pool.submit(run)

    def _execute(self, run: Running) -> None:
        try:
            result = self.executor.run(run, lambda _r: None)
        finally:
            with self.lock:
                self.running.pop(run.key, None)
        with self.lock:
            self.results.append(result)
            self.completed += 1
        self.results_ready.set()

    # -- reporter -------------------------------------------------------------
    def _report_loop(self) -> None:
        last_beat = time.monotonic()
        while True:
            self.results_ready.wait(timeout=0.5)
            self.results_ready.clear()
            time.sleep(0.02)  # let a burst of results gather into one request
            self._flush_results()
            if time.monotonic() - last_beat >= self.cfg.heartbeat_seconds:
                self._send_heartbeats()
                last_beat = time.monotonic()
            if self.stopping.is_set() and not self._busy():
                self._flush_results()
                return

    def _flush_results(self) -> None:
        with self.lock:
            batch, self.results = self.results, []
        if not batch:
            return
        try:
            answers = self.api.results(batch)
        except httpx.HTTPStatusError as exc:
            # The server understood and refused the whole request: sending it
            # again cannot help. The leases expire and the elements run again.
            log.error("server refused %d results: %s", len(batch), exc)
            return
        except Exception as exc:  # keep them; the next flush tries again
            log.error("could not report %d results: %s", len(batch), exc)
            with self.lock:
                self.results = batch + self.results
            time.sleep(1)
            return
        for a in answers:
            if a.get("code") != 200:
                log.warning(
                    "result for %s.%s refused: %s",
                    a.get("jobid"),
                    a.get("elementid"),
                    a.get("detail"),
                )

    def _send_heartbeats(self) -> None:
        with self.lock:
            runs = list(self.running.values())
        # Elements still queued behind --prefetch are not heartbeated: their
        # leases are long enough to wait, and skipping them keeps the server's
        # write load proportional to real work.
        runs = [r for r in runs if r.started is not None]
        if not runs:
            return
        beats = []
        for run in runs:
            p = run.progress
            beats.append(
                {
                    "jobid": run.element["job_id"],
                    "elementid": run.element["id"],
                    "token": run.element["token"],
                    "transferred": p.transferred if p else 0,
                    "elapsed": p.elapsed if p else time.monotonic() - (run.started or 0.0),
                    "instant": p.instant if p else 0.0,
                    "average": p.average if p else 0.0,
                }
            )
        try:
            answers = self.api.heartbeats(beats)
        except Exception as exc:
            log.warning("heartbeat failed: %s", exc)
            return
        for a in answers:
            key = (a.get("jobid"), a.get("elementid"))
            run = self.running.get(key)  # type: ignore[arg-type]
            if run is None:
                continue
            if a.get("code") == 409 or a.get("command") == "cancel":
                # Lease gone or job cancelled: stop and let the result say so.
                run.cancel.set()
            elif a.get("command"):
                run.say(f"command from server: {a['command']}")
