"""The worker's side of the HTTP protocol: claim, heartbeat, report.

Network failures are retried here with backoff, so a server restart or a
blip never makes a worker drop a finished result on the floor.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

log = logging.getLogger("haul.worker")

WQ = "/workqueue/api/v1.0/worker"


class ServerGone(Exception):
    """The server stayed unreachable for longer than we were willing to wait."""


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

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, url: str, body: Any, retry_for: float) -> httpx.Response:
        deadline = time.monotonic() + retry_for
        delay = 0.2
        while True:
            try:
                r = self.http.request(method, url, json=body)
                if r.status_code not in (429, 502, 503, 504):
                    return r
                reason = f"HTTP {r.status_code}"
            except httpx.TransportError as exc:
                reason = str(exc) or type(exc).__name__
            if time.monotonic() >= deadline:
                raise ServerGone(f"{method} {url}: {reason}")
            log.warning("server unavailable (%s); retrying in %.1fs", reason, delay)
            time.sleep(delay)
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

    def pin_host_key(self, element: dict[str, Any], site_id: int, host_key: str) -> str | None:
        """Asks the server to pin `host_key` on a site of this lease; answers the pinned key.

        None when the server could not be told (it is asked again with a later lease).
        """
        body = {
            "jobid": element["job_id"],
            "elementid": element["id"],
            "token": element["token"],
            "site_id": site_id,
            "host_key": host_key,
        }
        try:
            r = self._send("PUT", f"{WQ}/host_key", body, retry_for=10)
        except ServerGone as exc:
            log.warning("cannot pin the host key of site %s: %s", site_id, exc)
            return None
        if r.status_code != 200:
            log.warning("pinning the host key of site %s: HTTP %s", site_id, r.status_code)
            return None
        return r.json().get("host_key")
