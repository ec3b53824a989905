"""A large HTTP download as several ranged GETs at once (storage/http_ranges.py).

Against real servers (wsgidav over HTTPS, moto) with the thresholds made
small, and a loopback HTTP server that claims byte ranges but answers every
GET whole (as a server does once the file changed under an If-Range).
"""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import os
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from haul.domain.errors import ErrorCode, TransferError
from haul.storage import http_ranges
from haul.storage.copy import copy_file
from haul.storage.http_get import PlainGets
from haul.storage.network_policy import NetworkPolicy
from haul.storage.schemes import open_storage
from haul.storage.site_access import SiteAccess
from haul.storage.socket_body import SocketBody
from haul.storage.webdav import WebDAVStorage
from tests.servers.fixtures import S3_BUCKET, StorageServer

DATA = os.urandom(9 * 1024 * 1024 + 5)  # nine parts and five bytes: an uneven end


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """1 MiB parts above 1 MiB; records the extra headers of every GET sent."""
    monkeypatch.setattr(http_ranges, "RANGED_ABOVE", 1024 * 1024)
    monkeypatch.setattr(http_ranges, "PART_SIZE", 1024 * 1024)
    sent: list[dict[str, str]] = []
    original = PlainGets.send

    def spy(self: PlainGets, target: str, headers: dict[str, str], path: str):  # type: ignore[no-untyped-def]
        sent.append(dict(headers))
        return original(self, target, headers, path)

    monkeypatch.setattr(PlainGets, "send", spy)
    return sent


def _adler(data: bytes) -> str:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


def _check_ranged_copy(storage, src: str, tmp_path: Path, sent: list[dict[str, str]]) -> None:  # type: ignore[no-untyped-def]
    local = open_storage("file:///")
    result = copy_file(storage, src, local, str(tmp_path / "copy.bin"))
    assert (tmp_path / "copy.bin").read_bytes() == DATA
    assert result.bytes == len(DATA) and result.checksum == _adler(DATA)
    ranges = sorted(h["Range"] for h in sent if "Range" in h)
    parts = http_ranges.PART_SIZE
    # The plain GET served part 0; each other part was asked once, by its own range.
    expected = sorted(
        f"bytes={start}-{min(len(DATA), start + parts) - 1}"
        for start in range(parts, len(DATA), parts)
    )
    assert ranges == expected
    assert all(h.get("If-Range") for h in sent if "Range" in h)


def test_a_large_webdav_file_is_read_in_ranges_and_verified(
    webdavs_server: StorageServer, small_parts: list[dict[str, str]], tmp_path: Path
) -> None:
    assert webdavs_server.root is not None
    (webdavs_server.root / "ranged.bin").write_bytes(DATA)
    cred = {**webdavs_server.credential, "ca_cert": str(webdavs_server.ca_file)}
    storage = open_storage(webdavs_server.endpoint_url, cred)
    try:
        _check_ranged_copy(storage, "/dav/ranged.bin", tmp_path, small_parts)
    finally:
        storage.close()


def test_a_large_s3_object_is_read_in_ranges_and_verified(
    s3_server: StorageServer, small_parts: list[dict[str, str]], tmp_path: Path
) -> None:
    storage = open_storage(s3_server.endpoint_url, s3_server.credential)
    storage._client.put_object(Bucket=S3_BUCKET, Key="ranged/obj.bin", Body=DATA)
    try:
        _check_ranged_copy(storage, f"/{S3_BUCKET}/ranged/obj.bin", tmp_path, small_parts)
    finally:
        storage.close()


def test_a_small_file_is_one_plain_get(
    webdavs_server: StorageServer, small_parts: list[dict[str, str]]
) -> None:
    assert webdavs_server.root is not None
    (webdavs_server.root / "small-one.bin").write_bytes(b"s" * 1000)
    cred = {**webdavs_server.credential, "ca_cert": str(webdavs_server.ca_file)}
    storage = open_storage(webdavs_server.endpoint_url, cred)
    try:
        with storage.open_read("/dav/small-one.bin") as stream:
            assert stream.read() == b"s" * 1000
    finally:
        storage.close()
    assert not any("Range" in h for h in small_parts)


class _WholeAnswers(http.server.BaseHTTPRequestHandler):
    """Says it takes ranges, then answers every GET whole (200)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        return None

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", '"v2"')
        self.send_header("Content-Length", str(len(DATA)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client stopped reading
            self.wfile.write(DATA)


class _Quiet(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        return None


@pytest.fixture
def whole_server() -> Iterator[str]:
    httpd = _Quiet(("127.0.0.1", 0), _WholeAnswers)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/dav"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_range_answered_whole_fails_the_read_and_the_next_is_one_stream(
    whole_server: str, small_parts: list[dict[str, str]]
) -> None:
    loopback = SiteAccess(network=NetworkPolicy(allowed=(ipaddress.ip_network("127.0.0.0/8"),)))
    storage = WebDAVStorage(whole_server, {}, loopback)
    try:
        with pytest.raises(TransferError) as refused, storage.open_read("/dav/f.bin") as stream:
            stream.read()
        assert refused.value.code is ErrorCode.CONNECTION and refused.value.retryable
        assert "retried in one stream" in str(refused.value)
        small_parts.clear()
        with storage.open_read("/dav/f.bin") as stream:
            assert stream.read() == DATA  # the retry: one plain GET, read whole
        assert not any("Range" in h for h in small_parts)
    finally:
        storage.close()


def test_an_https_body_is_read_from_the_tls_socket_in_whole_chunks(
    webdavs_server: StorageServer,
) -> None:
    """Over TLS the body is read by the socket's own `read`, not through
    http.client (socket_body), in chunks as large as asked, and its
    connection serves the next GET."""
    assert webdavs_server.root is not None
    data = os.urandom(5 * 1024 * 1024 + 3)
    (webdavs_server.root / "tls-body.bin").write_bytes(data)
    cred = {**webdavs_server.credential, "ca_cert": str(webdavs_server.ca_file)}
    storage = open_storage(webdavs_server.endpoint_url, cred)
    try:
        for _ in range(2):
            with storage.open_read("/dav/tls-body.bin") as stream:
                body = stream.raw  # type: ignore[attr-defined]
                assert isinstance(body._read.__self__, SocketBody)
                view = memoryview(bytearray(256 * 1024 + 1))
                got, sizes = bytearray(), []
                while n := stream.readinto(view):
                    got += view[:n]
                    sizes.append(n)
            assert bytes(got) == data
            assert all(n == len(view) for n in sizes[:-1])  # whole chunks, not TLS records
        assert len(storage._gets._idle) == 1  # type: ignore[attr-defined]  # one connection
    finally:
        storage.close()
