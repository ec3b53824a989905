"""XRootD reads and writes with several requests in flight, around the chunk
boundaries, against the real server (the chunk is made small so a few
hundred KiB cross many boundaries quickly)."""

from __future__ import annotations

import os
import threading
import time
import uuid
import zlib
from pathlib import Path

import pytest

from haul.domain.errors import ErrorCode, TransferError
from haul.storage import _xrootd_streams, copy_file, open_storage
from tests.servers.fixtures import StorageServer

CHUNK = 64 * 1024


@pytest.fixture()
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_xrootd_streams, "CHUNK", CHUNK)


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 4 * CHUNK, 4 * CHUNK + 1, 9 * CHUNK + 17]
)
def test_sizes_around_the_chunk(
    size: int, small_chunks: None, xrootd_server: StorageServer, tmp_path: Path
) -> None:
    storage = open_storage(xrootd_server.endpoint_url)
    path = f"{xrootd_server.root}/s-{uuid.uuid4().hex[:8]}"
    data = os.urandom(size)
    with storage.open_write(path) as out:
        for i in range(0, size, 10_000):  # writes that do not line up with chunks
            out.write(memoryview(data)[i : i + 10_000])
    assert xrootd_server.root is not None
    assert (xrootd_server.root / path.rsplit("/", 1)[1]).read_bytes() == data

    with storage.open_read(path) as stream:
        assert stream.read() == data
    with storage.open_read(path) as stream:  # odd-sized reads, then the end
        parts = []
        while part := stream.read(12_345):
            parts.append(part)
        assert b"".join(parts) == data
        assert stream.read(1) == b""
    with storage.open_read(path) as stream:  # readinto, as the copy engine reads
        got, buffer = bytearray(), bytearray(12_345)
        while n := stream.readinto(buffer):
            got += buffer[:n]
        assert got == data

    res = copy_file(storage, path, open_storage("file:///"), str(tmp_path / "copy"))
    assert res.checksum == f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"
    assert (tmp_path / "copy").read_bytes() == data


def test_a_directory_is_not_opened_for_reading(xrootd_server: StorageServer) -> None:
    storage = open_storage(xrootd_server.endpoint_url)
    path = f"{xrootd_server.root}/dir-{uuid.uuid4().hex[:8]}"
    storage.mkdir(path)
    with pytest.raises(TransferError) as err:
        storage.open_read(path)
    assert err.value.code is ErrorCode.IS_A_DIRECTORY


def test_a_read_handle_closes_in_the_background_and_the_server_sees_it_closed(
    xrootd_server: StorageServer,
) -> None:
    storage = open_storage(xrootd_server.endpoint_url)
    path = f"{xrootd_server.root}/bg-{uuid.uuid4().hex[:8]}"
    with storage.open_write(path) as out:
        out.write(b"abc" * 1000)
    for _ in range(20):
        with storage.open_read(path) as stream:
            assert stream.read() == b"abc" * 1000
    deadline = time.monotonic() + 10
    while _xrootd_streams._closing and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _xrootd_streams._closing  # every close was answered; no handle kept
    storage.remove(path)  # nothing holds the file open any more
    assert not storage.exists(path)


def test_the_early_checksum_query_answers_what_a_late_one_does(
    xrootd_server: StorageServer,
) -> None:
    storage = open_storage(xrootd_server.endpoint_url)
    path = f"{xrootd_server.root}/ck-{uuid.uuid4().hex[:8]}"
    data = os.urandom(70_000)
    with storage.open_write(path) as out:
        out.write(data)
    soon = storage.checksum_soon(path, "adler32")
    assert soon() == storage.checksum(path, "adler32") == f"{zlib.adler32(data):08x}"
    assert storage.checksum_soon(path, "md5")() is None  # the server computes adler32 only
    assert storage.checksum_soon(f"{path}-missing", "adler32")() is None


def test_a_source_whose_early_checksum_disagrees_fails_the_copy(
    xrootd_server: StorageServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = open_storage(xrootd_server.endpoint_url)
    path = f"{xrootd_server.root}/bad-{uuid.uuid4().hex[:8]}"
    with storage.open_write(path) as out:
        out.write(b"payload")
    monkeypatch.setattr(storage, "checksum_soon", lambda _p, _a: lambda: "00000001")
    with pytest.raises(TransferError) as err:
        copy_file(storage, path, open_storage("file:///"), str(tmp_path / "copy"))
    assert err.value.code is ErrorCode.CHECKSUM_MISMATCH
    assert not (tmp_path / "copy").exists()


def test_a_small_file_is_read_as_soon_as_it_is_open(xrootd_server: StorageServer) -> None:
    storage = open_storage(xrootd_server.endpoint_url)
    path = f"{xrootd_server.root}/early-{uuid.uuid4().hex[:8]}"
    data = os.urandom(5000)
    with storage.open_write(path) as out:
        out.write(data)
    with storage.open_read(path) as stream:
        assert stream._early is not None  # type: ignore[attr-defined]  # sent with the open
        assert stream.read() == data
        assert stream.read() == b""


def test_a_small_file_closed_unread_lets_its_read_land_first(
    xrootd_server: StorageServer,
) -> None:
    storage = open_storage(xrootd_server.endpoint_url)
    path = f"{xrootd_server.root}/unread-{uuid.uuid4().hex[:8]}"
    with storage.open_write(path) as out:
        out.write(b"x" * 4000)
    for _ in range(20):
        storage.open_read(path).close()  # e.g. the destination failed before any read
    deadline = time.monotonic() + 10
    while _xrootd_streams._closing and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _xrootd_streams._closing
    storage.remove(path)
    assert not storage.exists(path)


def test_an_answer_waits_until_it_comes_and_then_never_again() -> None:
    answer = _xrootd_streams.Answer()
    assert answer.wait(0.01) is False  # not answered yet: the timeout
    threading.Timer(0.05, answer, ("status", b"data", None)).start()
    assert answer.wait(5) is True
    assert (answer.status, answer.data) == ("status", b"data")
    assert answer.wait(0) is True and answer.wait(0) is True  # once answered, at once


def test_files_read_at_once_share_the_read_ahead(
    small_chunks: None, xrootd_server: StorageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memory a large read holds is its answers ahead of the reader: one file
    alone keeps IN_FLIGHT reads ahead, four read at once share READ_BUDGET_CHUNKS
    (two each), whatever the files' size; each still reads correctly."""
    budget = _xrootd_streams.ReadBudget(_xrootd_streams.READ_BUDGET_CHUNKS)
    monkeypatch.setattr(_xrootd_streams, "BUDGET", budget)
    storage = open_storage(xrootd_server.endpoint_url)
    datas, paths = [], []
    for i in range(4):
        datas.append(os.urandom(20 * CHUNK + i))
        paths.append(f"{xrootd_server.root}/ahead-{i}-{uuid.uuid4().hex[:8]}")
        with storage.open_write(paths[-1]) as out:
            out.write(datas[-1])

    with storage.open_read(paths[0]) as alone:
        assert alone.read(1) == datas[0][:1]
        assert len(alone._pending) == _xrootd_streams.IN_FLIGHT  # type: ignore[attr-defined]

    streams = [storage.open_read(p) for p in paths]
    got: list[list[bytes]] = [[] for _ in paths]
    most = 0
    while any(s is not None for s in streams):
        for i, stream in enumerate(streams):
            if stream is None:
                continue
            part = stream.read(CHUNK)
            most = max(most, *(len(s._pending) for s in streams if s is not None))  # type: ignore[attr-defined]
            if not part:
                stream.close()
                streams[i] = None
            got[i].append(part)
    assert most == 2  # 8 chunks ahead in all, 2 per file
    assert [b"".join(g) for g in got] == datas
    assert budget.ahead() == _xrootd_streams.IN_FLIGHT  # every reader left the budget
