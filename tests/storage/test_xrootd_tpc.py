"""Third-party copy between real XRootD servers, and its fallbacks.

The servers log every read with the reader's identity (`ofs.trace read`:
`<user>.<pid>:...`), which shows who moved the bytes: the destination
server's copy program, never this process.
"""

from __future__ import annotations

import os
import uuid
import zlib

import pytest

from haul.domain.errors import ErrorCode, ErrorScope, TransferError
from haul.storage import Storage, open_storage
from haul.storage.third_party import CHECKED_AS_PULLED, third_party_copy
from tests.servers.fixtures import StorageServer, xrootd_log

SIZE = 9 * 1024 * 1024 + 17  # several of the destination's read requests, odd tail


def _put(storage: Storage, path: str, data: bytes) -> None:
    with storage.open_write(path) as stream:
        stream.write(data)


def _get(storage: Storage, path: str) -> bytes:
    with storage.open_read(path) as stream:
        return stream.read()


def _reads(server: StorageServer, path: str, by: str = "") -> list[str]:
    """The server's read requests for `path`, by the client identity containing `by`."""
    text = xrootd_log(server).read_text(errors="replace")
    return [ln for ln in text.splitlines() if "ofs_read" in ln and path in ln and by in ln]


def _reads_by_me(server: StorageServer, path: str) -> list[str]:
    return _reads(server, path, by=f".{os.getpid()}:")


@pytest.fixture()
def tpc_pair(
    xrootd_tpc_servers: tuple[StorageServer, StorageServer],
) -> tuple[Storage, str, Storage, str]:
    source, destination = xrootd_tpc_servers
    tag = uuid.uuid4().hex[:8]
    return (
        open_storage(source.endpoint_url),
        f"{source.root}/t-{tag}",
        open_storage(destination.endpoint_url),
        f"{destination.root}/t-{tag}",
    )


def test_copy_goes_server_to_server(
    tpc_pair: tuple[Storage, str, Storage, str],
    xrootd_tpc_servers: tuple[StorageServer, StorageServer],
) -> None:
    src, src_dir, dst, dst_dir = tpc_pair
    data = os.urandom(SIZE)
    _put(src, f"{src_dir}/big.bin", data)
    lines: list[str] = []
    seen: list[int] = []

    res = third_party_copy(
        src,
        f"{src_dir}/big.bin",
        dst,
        f"{dst_dir}/sub/big.bin",
        progress=lambda p: seen.append(p.transferred),
        temp_tag="1-2-1",
        say=lines.append,
    )

    assert res is not None, lines
    assert res.bytes == SIZE
    assert res.checksum == f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"
    # The destination checked the source's adler32 as it wrote (tpc.cks), as the log says.
    assert res.verified == CHECKED_AS_PULLED
    assert _get(dst, f"{dst_dir}/sub/big.bin") == data
    assert [e.name for e in dst.list(f"{dst_dir}/sub")] == ["big.bin"]  # no temporary left
    log = "\n".join(lines)
    assert "third-party copy done" in log
    assert "destination verified: adler32" in log and "as it wrote the copy (tpc.cks)" in log
    assert seen and seen[-1] == SIZE
    # The source was read, by the destination's copy program, not by this process.
    source, _ = xrootd_tpc_servers
    assert _reads(source, f"{src_dir}/big.bin")
    assert _reads_by_me(source, f"{src_dir}/big.bin") == []


def test_existing_destination_is_refused_without_overwrite(
    tpc_pair: tuple[Storage, str, Storage, str],
) -> None:
    src, src_dir, dst, dst_dir = tpc_pair
    _put(src, f"{src_dir}/a", b"new")
    _put(dst, f"{dst_dir}/a", b"old")
    with pytest.raises(TransferError) as err:
        third_party_copy(src, f"{src_dir}/a", dst, f"{dst_dir}/a")
    assert err.value.code is ErrorCode.EXISTS
    assert err.value.scope is ErrorScope.DESTINATION
    assert _get(dst, f"{dst_dir}/a") == b"old"

    res = third_party_copy(src, f"{src_dir}/a", dst, f"{dst_dir}/a", overwrite=True)
    assert res is not None and _get(dst, f"{dst_dir}/a") == b"new"


def test_destination_without_tpc_falls_back(
    xrootd_tpc_servers: tuple[StorageServer, StorageServer], xrootd_server: StorageServer
) -> None:
    source, _ = xrootd_tpc_servers
    src = open_storage(source.endpoint_url)
    dst = open_storage(xrootd_server.endpoint_url)
    path = f"{source.root}/plain-{uuid.uuid4().hex[:8]}"
    _put(src, path, b"x" * 1000)
    lines: list[str] = []
    target = f"{xrootd_server.root}/plain-{uuid.uuid4().hex[:8]}"

    assert third_party_copy(src, path, dst, target, say=lines.append) is None

    assert lines == [
        f"third-party copy not possible: the destination server ({dst.describe()}) has no "  # type: ignore[attr-defined]
        "TPC enabled; streaming through the worker"
    ]
    assert not dst.exists(target)


def test_failed_tpc_falls_back_and_leaves_nothing(
    xrootd_tpc_servers: tuple[StorageServer, StorageServer],
    xrootd_tpc_broken_server: StorageServer,
) -> None:
    source, _ = xrootd_tpc_servers
    src = open_storage(source.endpoint_url)
    dst = open_storage(xrootd_tpc_broken_server.endpoint_url)
    tag = uuid.uuid4().hex[:8]
    _put(src, f"{source.root}/f-{tag}", b"y" * 5000)
    target_dir = f"{xrootd_tpc_broken_server.root}/d-{tag}"
    lines: list[str] = []

    res = third_party_copy(
        src, f"{source.root}/f-{tag}", dst, f"{target_dir}/f", temp_tag="3-4-1", say=lines.append
    )

    assert res is None
    assert any(line.startswith("third-party copy failed: ") for line in lines), lines
    assert lines[-1].endswith("; streaming through the worker")
    assert list(dst.list(target_dir)) == []  # the temporary is gone


def test_source_token_keeps_the_copy_in_the_worker(
    xrootd_tpc_servers: tuple[StorageServer, StorageServer],
) -> None:
    source, destination = xrootd_tpc_servers
    src = open_storage(source.endpoint_url, {"token": "secret-of-the-source"})
    dst = open_storage(destination.endpoint_url)
    lines: list[str] = []
    res = third_party_copy(
        src, f"{source.root}/whatever", dst, f"{destination.root}/x", say=lines.append
    )
    assert res is None
    assert lines == [
        "third-party copy not possible: it would hand the source's token to the destination "
        "server; streaming through the worker"
    ]


def test_other_protocols_are_not_considered(xrootd_tpc_servers, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, destination = xrootd_tpc_servers
    (tmp_path / "f").write_bytes(b"z")
    lines: list[str] = []
    res = third_party_copy(
        open_storage(f"file://{tmp_path}"),
        str(tmp_path / "f"),
        open_storage(destination.endpoint_url),
        f"{destination.root}/never",
        say=lines.append,
    )
    assert res is None and lines == []


def test_cancelled_copy_leaves_nothing(tpc_pair: tuple[Storage, str, Storage, str]) -> None:
    src, src_dir, dst, dst_dir = tpc_pair
    _put(src, f"{src_dir}/c", os.urandom(SIZE))
    with pytest.raises(TransferError) as err:
        third_party_copy(src, f"{src_dir}/c", dst, f"{dst_dir}/c", cancelled=lambda: True)
    assert err.value.code is ErrorCode.CANCELLED
    assert list(dst.list(dst_dir)) == []


def test_destination_checks_the_sources_checksum_as_it_pulls(
    tpc_pair: tuple[Storage, str, Storage, str],
) -> None:
    """The value handed over in `tpc.cks` is what the destination checks: a wrong
    one fails the copy there, the right one passes."""
    src, src_dir, dst, dst_dir = tpc_pair
    data = os.urandom(100_003)
    _put(src, f"{src_dir}/c.bin", data)
    right = f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"
    wrong = f"{(zlib.adler32(data) + 1) & 0xFFFFFFFF:08x}"
    pull = dst.pull  # type: ignore[attr-defined]

    with pytest.raises(TransferError) as err:
        pull(src, f"{src_dir}/c.bin", f"{dst_dir}/bad", None, bool, checksum=("adler32", wrong))
    assert "checksum" in err.value.message.lower()

    pull(src, f"{src_dir}/c.bin", f"{dst_dir}/good", None, bool, checksum=("adler32", right))
    assert _get(dst, f"{dst_dir}/good") == data


def test_copy_the_destination_finds_different_is_streamed_instead(
    tpc_pair: tuple[Storage, str, Storage, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source whose reported checksum is not that of its bytes: the destination
    refuses the pulled copy, nothing is published, and the worker streams it (where
    the copy engine compares the bytes read with the source's checksum itself)."""
    src, src_dir, dst, dst_dir = tpc_pair
    _put(src, f"{src_dir}/d.bin", b"some bytes")
    monkeypatch.setattr(src, "checksum", lambda path, algorithm: "0badc0de")
    lines: list[str] = []

    res = third_party_copy(src, f"{src_dir}/d.bin", dst, f"{dst_dir}/d.bin", say=lines.append)

    assert res is None, lines
    assert "third-party copy failed" in "\n".join(lines)
    assert "streaming through the worker" in lines[-1]
    assert not dst.exists(f"{dst_dir}/d.bin")
    assert list(dst.list(dst_dir)) == []  # the temporary is gone too


def test_verify_off_asks_no_check_of_the_destination(
    tpc_pair: tuple[Storage, str, Storage, str],
) -> None:
    src, src_dir, dst, dst_dir = tpc_pair
    _put(src, f"{src_dir}/e.bin", b"unverified")
    lines: list[str] = []
    res = third_party_copy(
        src, f"{src_dir}/e.bin", dst, f"{dst_dir}/e.bin", verify=False, say=lines.append
    )
    assert res is not None and res.verified == "size only (verify off)"
    assert _get(dst, f"{dst_dir}/e.bin") == b"unverified"
    assert "tpc.cks" not in "\n".join(lines)
