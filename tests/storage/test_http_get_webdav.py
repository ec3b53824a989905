"""WebDAV downloads through `storage/http_get.py` (http.client), and when they fall back.

A small HTTP/1.1 server on loopback plays the parts a real WebDAV server
plays only sometimes: a redirect (dCache's door to its pool), an encoded
body, a missing file, a server that drops idle keep-alive connections.
"""

from __future__ import annotations

import gzip
import http.server
import ipaddress
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from haul.domain.errors import ErrorCode, TransferError
from haul.storage.http_get import basic_authorization
from haul.storage.network_policy import NetworkPolicy
from haul.storage.site_access import SiteAccess
from haul.storage.webdav import WebDAVStorage

BODY = os.urandom(3 * 1024 * 1024 + 17)
SMALL = b"x" * 1000


@dataclass
class Seen:
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization)
    connections: set[int] = field(default_factory=set)
    handlers: list[http.server.BaseHTTPRequestHandler] = field(default_factory=list)


def _handler(seen: Seen) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            return None

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            seen.requests.append((self.path, self.headers.get("Authorization")))
            seen.connections.add(id(self.connection))
            seen.handlers.append(self)
            if self.path == "/dav/big.bin":
                self._send(200, BODY)
            elif self.path == "/dav/moved.bin":
                self._send(302, b"", {"Location": "/dav/small.bin"})
            elif self.path == "/dav/small.bin":
                self._send(200, SMALL)
            elif self.path == "/dav/short.bin":  # says more than it sends, then hangs up
                self.send_response(200)
                self.send_header("Content-Length", str(len(BODY)))
                self.end_headers()
                self.wfile.write(BODY[: len(BODY) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
            elif self.path == "/dav/zipped.bin":
                self._send(200, gzip.compress(SMALL), {"Content-Encoding": "gzip"})
            else:
                self._send(404, b"no such file")

    return Handler


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        return None  # a connection the test shut down on purpose


@pytest.fixture
def server() -> Iterator[tuple[str, Seen, http.server.ThreadingHTTPServer]]:
    seen = Seen()
    httpd = _QuietServer(("127.0.0.1", 0), _handler(seen))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/dav", seen, httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


LOOPBACK = SiteAccess(network=NetworkPolicy(allowed=(ipaddress.ip_network("127.0.0.0/8"),)))
CRED = {"username": "haul", "password": "pässword"}


def _read(storage: WebDAVStorage, path: str) -> bytes:
    with storage.open_read(path) as stream:
        return stream.read()


def test_a_plain_get_is_read_whole_and_its_connection_kept(server) -> None:
    url, seen, _ = server
    storage = WebDAVStorage(url, CRED, LOOPBACK)
    try:
        assert _read(storage, "/dav/big.bin") == BODY
        assert _read(storage, "/dav/big.bin") == BODY
        assert _read(storage, "/dav/small.bin") == SMALL
    finally:
        storage.close()
    # One GET per read (no fallback), all on one kept-alive connection, with the credential.
    assert [p for p, _ in seen.requests] == ["/dav/big.bin", "/dav/big.bin", "/dav/small.bin"]
    assert len(seen.connections) == 1
    assert {a for _, a in seen.requests} == {basic_authorization("haul", "pässword")}


def test_a_redirect_is_followed_by_httpx_and_not_tried_plain_again(server) -> None:
    url, seen, _ = server
    storage = WebDAVStorage(url, CRED, LOOPBACK)
    try:
        assert _read(storage, "/dav/moved.bin") == SMALL
        assert _read(storage, "/dav/moved.bin") == SMALL
    finally:
        storage.close()
    paths = [p for p, _ in seen.requests]
    # The plain GET saw the redirect once; from then on httpx asks (and follows) alone.
    assert paths == ["/dav/moved.bin", "/dav/moved.bin", "/dav/small.bin"] + [
        "/dav/moved.bin",
        "/dav/small.bin",
    ]
    # Both clients send the same credential header.
    assert {a for _, a in seen.requests} == {basic_authorization("haul", "pässword")}


def test_an_encoded_body_is_decoded_through_httpx(server) -> None:
    url, _, _ = server
    storage = WebDAVStorage(url, CRED, LOOPBACK)
    try:
        assert _read(storage, "/dav/zipped.bin") == SMALL
    finally:
        storage.close()


def test_a_missing_file_is_not_found(server) -> None:
    url, _, _ = server
    storage = WebDAVStorage(url, CRED, LOOPBACK)
    try:
        with pytest.raises(TransferError) as caught:
            storage.open_read("/dav/nothing.bin")
    finally:
        storage.close()
    assert caught.value.code is ErrorCode.NOT_FOUND


def test_an_idle_connection_the_server_dropped_is_replaced(server) -> None:
    url, seen, _ = server
    storage = WebDAVStorage(url, CRED, LOOPBACK)
    try:
        assert _read(storage, "/dav/small.bin") == SMALL
        for handler in seen.handlers:  # the server closes its side of the kept connection
            handler.close_connection = True
            handler.connection.shutdown(2)
        assert _read(storage, "/dav/small.bin") == SMALL
    finally:
        storage.close()
    assert len(seen.connections) == 2


def test_every_idle_connection_the_server_dropped_is_replaced(server) -> None:
    """Two connections kept idle past the server's keep-alive: both are gone, and
    the next GET is answered on a fresh one (not failed after two stale tries)."""
    url, seen, _ = server
    storage = WebDAVStorage(url, CRED, LOOPBACK)
    try:
        first, second = storage.open_read("/dav/small.bin"), storage.open_read("/dav/small.bin")
        assert first.read() == SMALL and second.read() == SMALL
        first.close()
        second.close()
        assert len(seen.connections) == 2
        for handler in seen.handlers:
            handler.close_connection = True
            handler.connection.shutdown(2)
        assert _read(storage, "/dav/big.bin") == BODY
    finally:
        storage.close()
    assert len(seen.connections) == 3


def test_a_body_cut_short_fails_as_a_connection_error(server) -> None:
    url, _, _ = server
    storage = WebDAVStorage(url, CRED, LOOPBACK)
    try:
        with pytest.raises(TransferError) as err:
            _read(storage, "/dav/short.bin")
        assert err.value.code is ErrorCode.CONNECTION
        assert _read(storage, "/dav/small.bin") == SMALL  # a new connection serves the next
    finally:
        storage.close()


def test_the_sites_network_policy_refuses_before_connecting(server) -> None:
    url, seen, _ = server
    storage = WebDAVStorage(url, CRED, SiteAccess(network=NetworkPolicy()))
    try:
        with pytest.raises(TransferError) as caught:
            storage.open_read("/dav/small.bin")
    finally:
        storage.close()
    assert caught.value.code is ErrorCode.PERMISSION_DENIED
    assert seen.requests == []
