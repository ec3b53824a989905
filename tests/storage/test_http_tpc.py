"""HTTP-TPC (WebDAV COPY with a Source header) between two real XRootD HTTPS
servers, RFC 3230 digests, and the fallback towards a WebDAV server without it."""

from __future__ import annotations

import os
import shutil
import uuid
import zlib
from pathlib import Path

from haul.storage import Storage, open_storage
from haul.storage.third_party import third_party_copy
from tests.servers.fixtures import StorageServer


def _open(server: StorageServer) -> Storage:
    return open_storage(server.endpoint_url, {"ca_cert": str(server.ca_file)})


def _place(server: StorageServer, name: str, data: bytes) -> str:
    """Puts a file on the server's disk (XRootD's HTTP plugin takes no chunked PUT)."""
    assert server.root is not None
    path = server.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    for p in (path, path.parent):
        shutil.chown(p, "nobody", "nogroup")
    return str(path)


def _adler(data: bytes) -> str:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


def test_http_tpc_between_two_servers(
    xrootd_https_tpc_servers: tuple[StorageServer, StorageServer],
) -> None:
    source, destination = xrootd_https_tpc_servers
    data = os.urandom(6 * 1024 * 1024 + 5)
    tag = uuid.uuid4().hex[:8]
    src_path = _place(source, f"h-{tag}/big.bin", data)
    dst_path = f"{destination.root}/h-{tag}/sub/big.bin"
    src, dst = _open(source), _open(destination)
    lines: list[str] = []

    res = third_party_copy(src, src_path, dst, dst_path, temp_tag="5-6-1", say=lines.append)

    assert res is not None, lines
    assert res.bytes == len(data) and res.checksum == _adler(data)
    assert Path(dst_path).read_bytes() == data
    assert sorted(p.name for p in Path(dst_path).parent.iterdir()) == ["big.bin"]
    log = "\n".join(lines)
    assert "third-party copy done" in log, log
    assert "checksum query, no read back" in log, log


def test_digest_from_the_server(
    xrootd_https_tpc_servers: tuple[StorageServer, StorageServer],
) -> None:
    source, _ = xrootd_https_tpc_servers
    data = b"digest me" * 999
    path = _place(source, f"d-{uuid.uuid4().hex[:8]}", data)
    assert _open(source).checksum(path, "adler32") == _adler(data)


def test_webdav_server_without_http_tpc_falls_back(
    xrootd_https_tpc_servers: tuple[StorageServer, StorageServer], webdav_server: StorageServer
) -> None:
    source, _ = xrootd_https_tpc_servers
    src = _open(source)
    dst = open_storage(webdav_server.endpoint_url, webdav_server.credential)
    path = _place(source, f"w-{uuid.uuid4().hex[:8]}", b"w" * 3000)
    target = f"/dav/w-{uuid.uuid4().hex[:8]}"
    lines: list[str] = []

    assert third_party_copy(src, path, dst, target, say=lines.append) is None
    assert lines[-1].endswith("; streaming through the worker"), lines
    assert not dst.exists(target)
    # The refusal is remembered: the next file does not ask again.
    lines.clear()
    assert third_party_copy(src, path, dst, target + "-2", say=lines.append) is None
    assert lines == [
        f"third-party copy not possible: the destination server ({dst.describe()}) does not "  # type: ignore[attr-defined]
        "do HTTP-TPC; streaming through the worker"
    ]
