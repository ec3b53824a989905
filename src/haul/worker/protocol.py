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
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic_core import PydanticSerializationError, to_json

from haul.protocol.beats import BeatReply, HeartbeatItem
from haul.protocol.claims import ClaimRequest
from haul.protocol.host_keys import HostKeyPinItem, PinnedKey
from haul.protocol.leases import LeasedElement, LeasedJob
from haul.protocol.results import ResultItem, ResultReply

log = logging.getLogger("haul.worker")

WQ = "/workqueue/api/v1.0/worker"
# One PUT /results carries at most this much JSON (a single bigger result goes
# alone), far below the server's worker body limit, so a burst of big listings
# never makes one request the server refuses or must hold in memory at once.
RESULTS_CHUNK_BYTES = 32 << 20


def json_chunks(items: list[Any], limit: int = RESULTS_CHUNK_BYTES) -> Iterator[bytes]:
    """JSON arrays of ``items`` of at most ``limit`` bytes each, in the wire form of `encode`."""
    chunk: list[bytes] = []
    size = 2
    for item in items:
        encoded = encode(item)
        if chunk and size + len(encoded) + 1 > limit:
            yield b"[" + b",".join(chunk) + b"]"
            chunk, size = [], 2
        chunk.append(encoded)
        size += len(encoded) + 1
    if chunk:
        yield b"[" + b",".join(chunk) + b"]"


JSON_BODY = {"Content-Type": "application/json"}


class ServerGone(Exception):
    """The server stayed unreachable for longer than we were willing to wait."""


class Unencodable(ValueError):
    """A request body that is not JSON in UTF-8 (e.g. a lone surrogate in a name)."""


# The standard library's encoder, the one that decides: `json.dumps` with
# options would build a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def encode(body: Any) -> bytes:
    """The wire form of a body; raises Unencodable naming what went wrong.

    pydantic-core (Rust) encodes it first: ~2.5 us for a small file's result
    against ~14 us for `json`, per item of every results batch. Its bytes are
    `json.dumps`'s (compact, UTF-8, not escaped) for the dicts, lists,
    strings, numbers and None the worker's bodies are made of; where it
    refuses (a lone surrogate, an unknown type) or may have written a
    non-finite float (its bytes hold NaN or Infinity: such a float, or only a
    name holding these letters, which `json` then encodes), `json` decides,
    and its refusal is the Unencodable. (pydantic-core would also encode
    bytes and datetimes, which no body holds: handler results are checked by
    `json.dumps` when they are made.)
    """
    try:
        fast = to_json(body, inf_nan_mode="constants")
    except PydanticSerializationError:
        pass
    else:
        if b"NaN" not in fast and b"Infinity" not in fast:
            return fast
    try:
        return _ENCODER.encode(body).encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        raise Unencodable(f"{type(exc).__name__}: {exc}") from exc


def problem(item: Any) -> str | None:
    """Why one item of a batch cannot be encoded, or None if it can."""
    try:
        encode(item)
    except Unencodable as exc:
        return str(exc)
    return None


def _date(header: str | None) -> datetime | None:
    """An HTTP Date header as an aware datetime (whole seconds), or None."""
    if not header:
        return None
    try:
        return parsedate_to_datetime(header)
    except (TypeError, ValueError):
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
        # The server's clock (its Date header) when it answered the last claim.
        self.claim_date: datetime | None = None

    def close(self) -> None:
        self.http.close()

    def _send(
        self, method: str, url: str, body: Any, retry_for: float, *, raw: bytes | None = None
    ) -> httpx.Response:
        content = raw if raw is not None else encode(body)
        deadline = time.monotonic() + retry_for
        if self.give_up_at is not None:
            deadline = min(deadline, self.give_up_at)
        delay = 0.2
        while True:
            extra: dict[str, Any] = {}
            if self.give_up_at is not None:  # stopping: no request outlives the deadline
                extra["timeout"] = max(1.0, self.give_up_at - time.monotonic())
            try:
                r = self.http.request(method, url, content=content, headers=JSON_BODY, **extra)
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

    # The answers are read as the protocol's TypedDicts: plain dicts, not
    # validated again here (the server built them from the same declarations).
    def claim(self, body: ClaimRequest) -> list[LeasedJob]:
        r = self._send("POST", f"{WQ}/jobs", body, retry_for=0)
        if r.status_code == 404:
            return []
        r.raise_for_status()
        self.claim_date = _date(r.headers.get("date"))
        return r.json()

    def heartbeats(self, beats: list[HeartbeatItem]) -> list[BeatReply]:
        r = self._send("PUT", f"{WQ}/monitoring", beats, retry_for=30)
        r.raise_for_status()
        return r.json()

    def results(self, results: list[ResultItem], retry_for: float = 3600) -> list[ResultReply]:
        answers: list[ResultReply] = []
        for raw in json_chunks(results):
            r = self._send("PUT", f"{WQ}/results", None, retry_for=retry_for, raw=raw)
            r.raise_for_status()
            answers.extend(r.json())
        return answers

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

    def pin_host_key(self, element: LeasedElement, site_id: int, host_key: str) -> str | None:
        """Asks the server to pin `host_key` on a site of this lease; answers the pinned key.

        None when the server could not be told (it is asked again with a later lease).
        """
        body: HostKeyPinItem = {
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
        pinned: PinnedKey = r.json()
        return pinned.get("host_key")
