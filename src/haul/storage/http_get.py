"""A download GET whose body the standard library reads (WebDAV and S3).

Why not the protocol's own client here: a TLS server sends its body in
records of 8-16 KiB and a TLS read returns one record, so a 1 GiB download
is ~100,000 reads. httpx runs each through httpcore and h11's event machine
(~20 Python calls a read); `http.client` reads straight into the caller's
buffer: about 2.3x less CPU per byte on the benchmark's Apache
(bench/RESULTS.md, "WebDAV downloads"). For S3, botocore's request
pipeline (events, signing, parsing) costs more than the GET of a small
object itself: a presigned URL read here costs less than half the CPU.

Everything but a plain download stays with the protocol's client: a GET
that does not answer `200` with identity encoding (an error, a redirect
such as dCache's door to its pool, an encoded body) is given back
(`None`), and the caller asks again through its own client, which follows
redirects and turns errors into `TransferError` as for every other request.
A server that redirected once is not asked here again.

Connections: the caller's TLS context, the site's network policy (every
connection to a checked address), the caller's credential header; idle
keep-alive connections are kept for the next GET and a reused one that the
server has closed is replaced once, before any byte of an answer.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import socket
import ssl
import threading

from haul.domain.errors import ErrorCode, TransferError
from haul.storage.http_ranges import RangedBody, ranged
from haul.storage.network_policy import NetworkPolicy
from haul.storage.socket_body import body_reader

# Idle connections kept per storage: one per transfer slot is plenty.
MAX_IDLE = 8
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def basic_authorization(username: str, password: str) -> str:
    """The Authorization header httpx sends for `auth=(username, password)`."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


class _Checked(http.client.HTTPConnection):
    """Plain HTTP, connected only to an address the site's policy allows."""

    def __init__(self, host: str, port: int | None, policy: NetworkPolicy, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._policy = policy

    def _tcp(self) -> socket.socket:
        sock = self._policy.connect(self.host, self.port, self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def connect(self) -> None:
        self.sock = self._tcp()


class _CheckedTLS(_Checked):
    def __init__(
        self,
        host: str,
        port: int | None,
        policy: NetworkPolicy,
        timeout: float,
        context: ssl.SSLContext,
    ) -> None:
        super().__init__(host, port or 443, policy, timeout)
        self.default_port = 443
        self._context = context

    def connect(self) -> None:
        self.sock = self._context.wrap_socket(self._tcp(), server_hostname=self.host)


class PlainGets:
    """GETs of one server over kept-alive `http.client` connections."""

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int | None,
        *,
        headers: dict[str, str],
        context: ssl.SSLContext,
        policy: NetworkPolicy,
        timeout: float,
    ) -> None:
        self._tls = scheme == "https"
        self._host, self._port = host, port
        self._headers = {**headers, "Accept-Encoding": "identity"}
        self._context, self._policy, self._timeout = context, policy, timeout
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self.enabled = True
        self.ranged = True  # large bodies in several ranged GETs; off once refused

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        if self._tls:
            made: http.client.HTTPConnection = _CheckedTLS(
                self._host, self._port, self._policy, self._timeout, self._context
            )
        else:
            made = _Checked(self._host, self._port or 80, self._policy, self._timeout)
        return made, False

    def _keep(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE:
                self._idle.append(connection)
                return
        connection.close()

    def open(self, target: str, path: str) -> Body | RangedBody | None:
        """The body of `GET target` as a file, or None: ask through httpx instead.

        `target` is the request target (the URL's path, quoted); `path` names
        the file in errors. A body larger than RANGED_ABOVE from a server that
        takes byte ranges is read as several ranged GETs at once
        (`http_ranges.RangedBody`).
        """
        if not self.enabled:
            return None
        response, connection = self.send(target, {}, path)
        encoding = (response.getheader("Content-Encoding") or "identity").lower()
        if response.status != 200 or encoding != "identity" or response.length is None:
            if 300 <= response.status < 400:
                self.enabled = False  # a redirecting server: httpx follows, from now on
            response.close()
            connection.close()
            return None
        body = Body(response, connection, self, path)
        if self.ranged and ranged(body):
            return RangedBody(body, self, target, path)
        return body

    def send(
        self, target: str, headers: dict[str, str], path: str
    ) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection]:
        """`GET target` with `headers` beside the storage's; the answer's head read."""
        for _attempt in range(2):
            connection, reused = self._connection()
            try:
                connection.request("GET", target, headers={**self._headers, **headers})
                return connection.getresponse(), connection
            except _STALE:
                connection.close()
                if reused:
                    # The server closed an idle connection, and likely every other
                    # one kept as long (its keep-alive timeout): once more, afresh.
                    self.close()
                    continue
                raise
            except TransferError:
                connection.close()
                raise
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                raise failed(exc, path) from exc
        raise AssertionError("unreachable: the second attempt returns or raises")

    def keep(self, connection: http.client.HTTPConnection) -> None:
        """A connection whose answer was read to its end, for the next GET."""
        self._keep(connection)

    @staticmethod
    def failure(exc: BaseException, path: str) -> TransferError:
        """What a failed read of an answer's body is, as a TransferError."""
        return failed(exc, path)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


def failed(exc: BaseException, path: str) -> TransferError:
    kind = type(exc).__name__
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError since 3.10
        return TransferError(ErrorCode.TIMEOUT, f"{path}: {kind}: {exc}")
    return TransferError(ErrorCode.CONNECTION, f"{path}: {kind}: {exc}")


class Body(io.RawIOBase):
    """A response body read into the caller's buffer; its connection kept if read to the end."""

    def __init__(
        self,
        response: http.client.HTTPResponse,
        connection: http.client.HTTPConnection,
        owner: PlainGets,
        path: str,
    ) -> None:
        super().__init__()
        self._response = response
        self._connection: http.client.HTTPConnection | None = connection
        self._owner = owner
        self._path = path
        # The body read straight from the socket, not through http.client's layers.
        self._read = body_reader(response, connection)

    def readable(self) -> bool:
        return True

    @property
    def size(self) -> int:
        """The body's length (Content-Length; a plain answer always has one)."""
        return int(self._response.getheader("Content-Length") or 0)

    def header(self, name: str) -> str | None:
        return self._response.getheader(name)

    @property
    def response(self) -> http.client.HTTPResponse:
        return self._response

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            return self._read(buffer)
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise failed(exc, self._path) from exc

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def close(self) -> None:
        if self.closed:
            return
        connection, self._connection = self._connection, None
        if connection is not None:
            if self._response.isclosed():  # read to its end: the connection can serve again
                self._owner._keep(connection)
            else:
                with contextlib.suppress(OSError):
                    self._response.close()
                connection.close()
        super().close()
