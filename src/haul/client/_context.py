"""`Context`: where the server is, who the caller is, and how a call is made.

Every API function takes a Context first (seed 003's style), so one object
carries the endpoint, the token and the connection pool, and the functions
stay plain one-call wrappers that are easy to read against the HTTP API.
"""

from __future__ import annotations

import email.utils
import os
import ssl
import time
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, cast

import httpx

from haul import __version__
from haul.client._exceptions import BadEndpoint, from_status
from haul.client._login import load_login, normalise_server, same_server
from haul.client._types import EndpointInfo

__all__ = ["SITES", "USERS", "WORKQUEUE", "Context"]

WORKQUEUE = "/workqueue/api/v1.0"
SITES = "/site/api/v1.0"
USERS = "/users/api/v1.0"

RETRY_STATUSES = frozenset({429, 503})


class Context:
    """A connection to one haul server on behalf of one caller.

    The token is taken from the ``token`` argument, else ``$HAUL_TOKEN``, else
    the login file ``haul login`` wrote, but from that file only when it was
    written for this same endpoint, so a token never travels to a server that
    did not issue it. The endpoint may likewise be left out, and then comes
    from ``$HAUL_SERVER`` or the login file.

    Answers of 503 and 429 are retried ``retries`` times, waiting as long as
    ``Retry-After`` asks (at most ``max_retry_wait`` seconds per wait), because
    both mean "not now" rather than "no".
    """

    def __init__(
        self,
        endpoint: str | None = None,
        token: str | None = None,
        verify: bool | str = True,
        *,
        timeout: float = 30.0,
        retries: int = 4,
        max_retry_wait: float = 30.0,
    ) -> None:
        stored = load_login()
        if endpoint is None:
            endpoint = os.environ.get("HAUL_SERVER") or (stored.server if stored else None)
        if not endpoint:
            raise BadEndpoint(
                "no haul server known: pass --server URL (Context(endpoint) in Python), set "
                "$HAUL_SERVER, or run `haul login --server URL` once"
            )
        if not endpoint.startswith(("http://", "https://")):
            raise BadEndpoint(f"endpoint {endpoint!r}: must start with http:// or https://")
        self.endpoint = normalise_server(endpoint)
        if token is None:
            token = os.environ.get("HAUL_TOKEN") or None
        if token is None and stored is not None and same_server(stored.server, self.endpoint):
            token = stored.token
        self.token = token
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        headers = {"User-Agent": f"haul-client/{__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=self.endpoint, headers=headers, timeout=timeout, verify=_tls(verify)
        )

    def __repr__(self) -> str:
        return f"Context({self.endpoint!r}, token={'set' if self.token else 'none'})"

    def __enter__(self) -> Context:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def get_endpoint_info(self) -> EndpointInfo:
        """Seed 003's endpoint info; also the cheapest proof that this is a haul server."""
        info = self.request("GET", "/").json_body()
        if not isinstance(info, dict) or not {"core", "api", "schema"} <= set(info):
            raise BadEndpoint(f"{self.endpoint}: does not answer like a haul server")
        return cast(EndpointInfo, info)

    # ------------------------------------------------------------ transport

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | list[tuple[str, Any]] | None = None,
        files: dict[str, Any] | None = None,
    ) -> Response:
        """One API call; failures leave as `ClientException` subclasses, never as httpx errors."""
        attempt = 0
        while True:
            try:
                raw = self._http.request(method, path, json=json, params=params, files=files)
            except httpx.InvalidURL as exc:
                raise BadEndpoint(f"{self.endpoint}{path}: invalid URL ({exc})") from None
            except httpx.TimeoutException:
                raise BadEndpoint(f"{method} {self.endpoint}{path}: timed out") from None
            except httpx.TransportError as exc:
                raise BadEndpoint(
                    f"cannot reach {self.endpoint}: {exc or type(exc).__name__}"
                ) from None
            if raw.status_code in RETRY_STATUSES and attempt < self.retries:
                time.sleep(self._retry_delay(raw, attempt))
                attempt += 1
                continue
            if raw.status_code >= 400:
                raise from_status(raw.status_code, _detail(raw), method, f"{self.endpoint}{path}")
            return Response(raw)

    def _retry_delay(self, raw: httpx.Response, attempt: int) -> float:
        asked = _retry_after(raw.headers.get("Retry-After"))
        delay = asked if asked is not None else 0.25 * 2**attempt
        return max(0.0, min(delay, self.max_retry_wait))

    def get(self, path: str, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        return self.request("GET", path, params=query or None).json_body()

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body).json_body()

    def delete(self, path: str, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        return self.request("DELETE", path, params=query or None).json_body()


class Response:
    """An answer that succeeded; reading its body cannot raise anything but ClientException."""

    def __init__(self, raw: httpx.Response) -> None:
        self.raw = raw

    @property
    def headers(self) -> httpx.Headers:
        return self.raw.headers

    def json_body(self) -> Any:
        if not self.raw.content:
            return None
        try:
            return self.raw.json()
        except ValueError:
            raise BadEndpoint(
                f"{self.raw.request.method} {self.raw.request.url}: answer is not JSON"
            ) from None


def _tls(verify: bool | str) -> bool | ssl.SSLContext:
    """A CA bundle path becomes an SSLContext: httpx wants one rather than a path."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return verify


def _detail(raw: httpx.Response) -> str:
    try:
        body = raw.json()
    except ValueError:
        text = raw.text.strip()
        return text[:300] if text else (raw.reason_phrase or "error")
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        return detail if isinstance(detail, str) else str(detail)
    return str(body)[:300]


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header, which is either seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()

