"""SFTP's pipelined streams against the real sshd: sizes around the request
boundaries, the bound on requests in flight, and verification by the server."""

from __future__ import annotations

import hashlib
import os
import time
import zlib
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from haul.domain.errors import ErrorCode, ErrorScope, TransferError
from haul.storage import copy_file
from haul.storage.expectation import Expectation
from haul.storage.local import LocalStorage
from haul.storage.sftp import SFTPStorage
from haul.storage.sftp_stream import MAX_IN_FLIGHT
from tests.storage.conftest import Case, make_case


@pytest.fixture
def sftp(request: pytest.FixtureRequest) -> Case:
    return make_case(request, "sftp")


def _sizes(block: int) -> list[int]:
    return [0, 1, block - 1, block, block + 1, 3 * block + 7]


def _adler(data: bytes) -> str:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


def test_reads_and_writes_around_request_boundaries(sftp: Case, tmp_path: Path) -> None:
    storage = sftp.storage
    assert isinstance(storage, SFTPStorage) and sftp.local is not None
    local = LocalStorage()
    blocks = {storage._read_block, storage._write_block}
    for size in sorted({s for block in blocks for s in _sizes(block)}):
        data = os.urandom(size)
        source = tmp_path / f"in-{size}"
        source.write_bytes(data)
        # local -> sftp: the pipelined writer
        up = copy_file(local, str(source), storage, f"{sftp.base}/f-{size}")
        assert sftp.local(f"{sftp.base}/f-{size}").read_bytes() == data, size
        assert (up.bytes, up.checksum) == (size, _adler(data))
        # sftp -> local: the pipelined reader
        down = copy_file(storage, f"{sftp.base}/f-{size}", local, str(tmp_path / f"out-{size}"))
        assert (tmp_path / f"out-{size}").read_bytes() == data, size
        assert (down.bytes, down.checksum) == (size, _adler(data))


def test_requests_in_flight_stay_bounded_whatever_the_size(sftp: Case) -> None:
    storage = sftp.storage
    assert isinstance(storage, SFTPStorage) and sftp.local is not None
    data = os.urandom(64 * 1024 * 1024)
    path = f"{sftp.base}/big"
    writer = storage.open_write(path)
    for start in range(0, len(data), 4 << 20):
        writer.write(data[start : start + (4 << 20)])
    writer.close()
    assert 1 < writer.high_water <= MAX_IN_FLIGHT  # type: ignore[attr-defined]
    digest = hashlib.sha256()
    with storage.open_read(path) as stream:
        digest.update(stream.read(4 << 20))
        time.sleep(0.5)  # a slow consumer: the loop fills the queue to the bound and stops
        while chunk := stream.read(4 << 20):
            assert len(chunk) <= 4 << 20
            digest.update(chunk)
        high = stream.reader.high_water  # type: ignore[attr-defined]
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    # 64 MiB is hundreds of requests; never more blocks held (out or queued)
    # than the bound at once.
    assert len(data) // storage._read_block > 10 * MAX_IN_FLIGHT
    assert 1 < high <= MAX_IN_FLIGHT


def test_a_file_that_grew_after_open_is_read_to_its_end(sftp: Case) -> None:
    assert sftp.local is not None
    path = f"{sftp.base}/growing"
    # Three windows of the server's block (OpenSSH's is 255 KiB, not 256): the
    # reader stays within about one window of the consumer, so it cannot reach
    # the first end before the append, however late this thread runs.
    block = sftp.storage._read_block  # type: ignore[attr-defined]
    first, more = os.urandom(3 * MAX_IN_FLIGHT * block + 1000), os.urandom(300_000)
    sftp.local(path).write_bytes(first)
    with sftp.storage.open_read(path) as stream:
        with open(sftp.local(path), "ab") as handle:
            handle.write(more)
        assert stream.read() == first + more


def test_server_checksum_verifies_without_reading_back(sftp: Case, tmp_path: Path) -> None:
    storage, local = sftp.storage, LocalStorage()
    data = os.urandom(300_000)
    (tmp_path / "in").write_bytes(data)
    res = copy_file(local, str(tmp_path / "in"), storage, f"{sftp.base}/s", checksum="sha256")
    assert (res.checksum, res.verified) == (
        hashlib.sha256(data).hexdigest(),
        "destination checksum",
    )
    assert storage.checksum(f"{sftp.base}/s", "md5") == hashlib.md5(data).hexdigest()
    # No tool computes adler32 on a server: read back.
    res = copy_file(local, str(tmp_path / "in"), storage, f"{sftp.base}/a", checksum="adler32")
    assert res.verified == "read back"
    # A missing file gives no digest (the engine's read-back then reports it).
    assert storage.checksum(f"{sftp.base}/missing", "sha256") is None
    assert storage.checksum(f"{sftp.base}/s", "sha256") == hashlib.sha256(data).hexdigest()


def test_a_listed_size_spares_the_stat_and_a_changed_file_is_read_as_it_is(
    sftp: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = sftp.storage
    assert isinstance(storage, SFTPStorage) and sftp.local is not None
    stats: list[str] = []
    real_stat = storage._sftp.stat

    def counted(path: str, *args: object, **kwargs: object) -> object:
        stats.append(path)
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(storage._sftp, "stat", counted)
    local = LocalStorage()
    block = storage._read_block
    for size in _sizes(block)[1:]:  # 0 bytes is never given as a listed size
        data = os.urandom(size)
        sftp.local(f"{sftp.base}/l-{size}").write_bytes(data)
        out = tmp_path / f"l-{size}"
        res = copy_file(storage, f"{sftp.base}/l-{size}", local, str(out), listed_size=size)
        assert (out.read_bytes(), res.checksum) == (data, _adler(data)), size
    assert stats == []  # the open alone, planned by the listed size
    # Changed since the listing, larger or smaller: read again at once, planned
    # by a stat, and what is published is the file as it is now.
    for listed in (1000, 300_000):
        path = f"{sftp.base}/changed-{listed}"
        data = os.urandom(100_000)
        sftp.local(path).write_bytes(data)
        out = tmp_path / f"changed-{listed}"
        res = copy_file(storage, path, local, str(out), listed_size=listed)
        assert (out.read_bytes(), res.bytes, res.checksum) == (data, 100_000, _adler(data))
        assert stats[-1] == path and list(tmp_path.glob(f".changed-{listed}*")) == []
    # An expected size is the job's word: checked against the file, never retried.
    path = f"{sftp.base}/expected"
    sftp.local(path).write_bytes(os.urandom(5000))
    with pytest.raises(TransferError) as info:
        copy_file(
            storage, path, local, str(tmp_path / "e"), listed_size=4000, expect=Expectation(4000)
        )
    assert info.value.code is ErrorCode.SIZE_MISMATCH and not info.value.retryable


def test_a_small_files_close_goes_out_with_its_reads(
    sftp: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = sftp.storage
    assert isinstance(storage, SFTPStorage) and sftp.local is not None
    events: list[str] = []
    real_read, real_close = asyncssh.SFTPClientFile.read, asyncssh.SFTPClientFile.close

    async def read(self: asyncssh.SFTPClientFile, *args: Any, **kwargs: Any) -> Any:
        events.append("read asked")
        data = await real_read(self, *args, **kwargs)
        events.append("read answered")
        return data

    async def close(self: asyncssh.SFTPClientFile) -> None:
        events.append("close asked")
        await real_close(self)

    monkeypatch.setattr(asyncssh.SFTPClientFile, "read", read)
    monkeypatch.setattr(asyncssh.SFTPClientFile, "close", close)
    block = storage._read_block
    for size in (0, 1, block - 1, block, 2 * block + 3):
        events.clear()
        data = os.urandom(size)
        sftp.local(f"{sftp.base}/c-{size}").write_bytes(data)
        out = tmp_path / f"c-{size}"
        res = copy_file(
            storage, f"{sftp.base}/c-{size}", LocalStorage(), str(out), listed_size=size
        )
        assert (out.read_bytes(), res.checksum) == (data, _adler(data)), size
        # Every planned read, then the CLOSE, before any answer came back.
        asked = events.index("close asked")
        assert events[:asked] == ["read asked"] * (size // block + 1), (size, events)
        assert "read answered" not in events[:asked]


def test_a_file_grown_past_its_planned_reads_is_copied_again(
    sftp: Case, tmp_path: Path
) -> None:
    storage = sftp.storage
    assert isinstance(storage, SFTPStorage) and sftp.local is not None
    block = storage._read_block
    # Listed at 1,000 bytes, now two blocks and more: the one planned read is
    # answered in full, the CLOSE already went out behind it, so the copy is
    # made again planned by a stat, and the file as it is now is published.
    path = f"{sftp.base}/grown"
    data = os.urandom(2 * block + 5)
    sftp.local(path).write_bytes(data)
    out = tmp_path / "grown"
    res = copy_file(storage, path, LocalStorage(), str(out), listed_size=1000)
    assert (out.read_bytes(), res.bytes, res.checksum) == (data, len(data), _adler(data))
    assert list(tmp_path.glob(".grown*")) == []
    # Read directly, planned by the listing, it says what happened.
    with pytest.raises(TransferError) as caught:
        stream, _ = storage.open_listed(path, 1000)
        with stream:
            while stream.read(1 << 20):
                pass
    assert (caught.value.code, caught.value.scope) == (ErrorCode.SIZE_MISMATCH, ErrorScope.SOURCE)



def test_reads_are_topped_up_a_batch_at_a_time() -> None:
    """Unit: with `batch`, no request goes until that many can go together,
    unless none is out (then whatever room there is)."""
    import asyncio

    from haul.storage.error_translation import OS_ERRORS
    from haul.storage.sftp_stream import PipelinedReader
    from tests.own_loop import run_on_own_thread

    class Handle:
        async def read(self, length: int, offset: int) -> bytes:
            await asyncio.Event().wait()  # never answered: the test counts requests
            return b""

    async def run() -> list[int]:
        reader = PipelinedReader(Handle(), "/f", 100 * 16, 16, OS_ERRORS, in_flight=8)  # type: ignore[arg-type]
        counts = []
        reader._top_up(4)
        counts.append(len(reader._pending))  # none out: the whole window
        for _ in range(3):
            reader._pending.popleft()[2].cancel()  # three answered and taken
        reader._top_up(4)
        counts.append(len(reader._pending))  # room for 3 < 4: nothing sent
        reader._pending.popleft()[2].cancel()
        reader._top_up(4)
        counts.append(len(reader._pending))  # room for 4: all four at once
        for _, _, task in reader._pending:
            task.cancel()
        return counts

    assert run_on_own_thread(run()) == [8, 5, 8]
