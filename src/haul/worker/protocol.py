"""The worker's side of the HTTP protocol: claim, heartbeat, report.

Network failures are retried here with backoff, so a server restart or a
blip never makes a worker drop a finished result on the floor; `give_up_at`
bounds every retry once the worker is stopping. Bodies are encoded here, as
strict UTF-8 JSON, so a report that cannot be encoded is found before it
is sent (`Unencodable`) and the caller can fail just that element.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import httpx

log = logging.getLogger("haul.worker")

WQ = "/workqueue/api/v1.0/worker"


class ServerGone(Exception):
    """The server stayed unreachable for longer than we were willing to wait."""


class Unencodable(ValueError):
    """A request body that is not JSON in UTF-8 (e.g. a lone surrogate in a name)."""


def encode(body: Any) -> bytes:
    """The wire form of a body; raises Unencodable naming what went wrong."""
    try:
        text = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        raise Unencodable(f"{type(exc).__name__}: {exc}") from exc


def problem(item: Any) -> str | None:
    """Why one item of a batch cannot be encoded, or None if it can."""
    try:
        encode(item)
    except Unencodable as exc:
        return str(exc)
    return None


class WorkerAPI:
    def __init__(
        self, server: str, token: str, *, verify: bool = True, timeout: float = 60
    ) -> None:
        self.http = httpx.Client(
            base_url=server.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            verify=verify,
        )
        # Monotonic time after which no request is retried (set when stopping).
        self.give_up_at: float | None = None

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, url: str, body: Any, retry_for: float) -> httpx.Response:
        content = encode(body)
        deadline = time.monotonic() + retry_for
        if self.give_up_at is not None:
            deadline = min(deadline, self.give_up_at)
        delay = 0.2
        while True:
            extra: dict[str, Any] = {}
            if self.give_up_at is not None:  # stopping: no request outlives the deadline
                extra["timeout"] = max(1.0, self.give_up_at - time.monotonic())
            try:
                r = self.http.request(
                    method,
                    url,
                    content=content,
                    headers={"Content-Type": "application/json"},
                    **extra,
                )
                if r.status_code not in (429, 502, 503, 504):
                    return r
                reason = f"HTTP {r.status_code}"
            except httpx.TransportError as exc:
                reason = str(exc) or type(exc).__name__
            if time.monotonic() >= deadline:
                raise ServerGone(f"{method} {url}: {reason}")
            log.warning("server unavailable (%s); retrying in %.1fs", reason, delay)
            time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
            delay = min(delay * 2, 5.0)

    def claim(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        r = self._send("POST", f"{WQ}/jobs", body, retry_for=0)
        if r.status_code == 404:
            return []
        r.raise_for_status()
        return r.json()

    def heartbeats(self, beats: list[dict[str, Any]]) -> list[dict[str, Any]]:
        r = self._send("PUT", f"{WQ}/monitoring", beats, retry_for=30)
        r.raise_for_status()
        return r.json()

    def results(self, results: list[dict[str, Any]], retry_for: float = 3600) -> list[dict]:
        r = self._send("PUT", f"{WQ}/results", results, retry_for=retry_for)
        r.raise_for_status()
        return r.json()

    def fetch_upload(self, upload_id: str, job_id: int, element_id: int, token: str) -> bytes:
        """An uploaded file's bytes, as the holder of the element's lease."""
        from haul.domain.errors import ErrorCode, TransferError

        try:
            r = self.http.get(
                f"{WQ}/files/{upload_id}",
                params={"jobid": job_id, "elementid": element_id, "token": token},
            )
        except httpx.TransportError as exc:
            raise TransferError(ErrorCode.CONNECTION, f"fetching upload: {exc}") from exc
        if r.status_code == 404:
            raise TransferError(ErrorCode.NOT_FOUND, f"upload {upload_id}: not found")
        if r.status_code != 200:
            raise TransferError(ErrorCode.CONNECTION, f"fetching upload: HTTP {r.status_code}")
        return r.content
