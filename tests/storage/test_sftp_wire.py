"""sftp_wire: packets gathered into one socket write per loop pass, in order,
and no empty IGNORE packets, checked on a fake connection and against the
real sshd (the copies around block boundaries are test_sftp_streams')."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from asyncssh.constants import MSG_IGNORE
from asyncssh.packet import String

from haul.storage import _loop, copy_file
from haul.storage.local import LocalStorage
from haul.storage.sftp import SFTPStorage
from haul.storage.sftp_wire import FLUSH_BYTES, _Gathered, tune
from tests.own_loop import run_on_own_thread
from tests.storage.conftest import Case, make_case


class _FakeConn:
    def __init__(self, cipher: str) -> None:
        self.cipher = cipher
        self.packets: list[int] = []
        self.writes: list[bytes] = []

    def get_extra_info(self, name: str) -> str | None:
        return self.cipher if name == "send_cipher" else None

    def send_packet(self, pkttype: int, *args: bytes, handler: Any = None) -> None:
        if pkttype > 80:  # as asyncssh does: an IGNORE before each packet
            self.send_packet(MSG_IGNORE, String(b""))
        self.packets.append(pkttype)
        self._send(bytes([pkttype]) + b"".join(args))

    def _send(self, data: bytes) -> None:
        self.writes.append(data)

    def _force_close(self, exc: Exception | None) -> None:
        self.closed_after = len(self.writes)


def test_packets_gathered_before_a_close_are_written_before_the_transport_goes() -> None:
    async def run() -> _FakeConn:
        conn = _FakeConn("aes128-gcm@openssh.com")
        assert tune(conn)  # type: ignore[arg-type]
        conn.send_packet(97, b"channel close")
        conn.send_packet(1, b"disconnect")
        conn._force_close(None)  # as asyncssh's disconnect does, in the same pass
        return conn

    conn = run_on_own_thread(run())
    assert conn.closed_after == 1 and conn.writes[0].startswith(bytes([97]))


def test_packets_of_one_pass_are_one_write_in_order() -> None:
    async def run() -> list[bytes]:
        writes: list[bytes] = []
        gathered = _Gathered(writes.append, asyncio.get_running_loop())
        for part in (b"a", b"b", b"c"):
            gathered(part)
        assert writes == []  # nothing written before the pass ends
        await asyncio.sleep(0)
        gathered(b"d")
        await asyncio.sleep(0)
        return writes

    assert run_on_own_thread(run()) == [b"abc", b"d"]


def test_large_data_is_written_at_once() -> None:
    async def run() -> list[bytes]:
        writes: list[bytes] = []
        gathered = _Gathered(writes.append, asyncio.get_running_loop())
        gathered(b"x")
        gathered(b"y" * FLUSH_BYTES)
        gathered(b"z")
        await asyncio.sleep(0)
        return writes

    assert run_on_own_thread(run()) == [b"x" + b"y" * FLUSH_BYTES, b"z"]


def test_empty_ignore_packets_are_dropped_unless_cbc() -> None:
    def sent(cipher: str) -> list[int]:
        conn = _FakeConn(cipher)

        async def run() -> None:
            assert tune(conn)  # type: ignore[arg-type]
            conn.send_packet(94, b"data")
            conn.send_packet(MSG_IGNORE, String(b"not empty"))
            await asyncio.sleep(0)

        run_on_own_thread(run())
        assert len(conn.writes) == 1  # one pass, one write
        return conn.packets

    assert sent("aes128-gcm@openssh.com") == [94, MSG_IGNORE]
    assert sent("aes128-cbc") == [MSG_IGNORE, 94, MSG_IGNORE]


@pytest.fixture
def sftp(request: pytest.FixtureRequest) -> Case:
    return make_case(request, "sftp")


def test_a_small_file_copy_writes_once_per_round_trip(sftp: Case, tmp_path: Path) -> None:
    storage = sftp.storage
    assert isinstance(storage, SFTPStorage) and sftp.local is not None
    gathered = storage._conn._send  # type: ignore[union-attr]
    assert isinstance(gathered, _Gathered)
    writes: list[bytes] = []
    inner = gathered._send

    def counted(data: bytes) -> None:
        writes.append(data)
        inner(data)

    _loop.run(_set(gathered, counted), 5)
    data = os.urandom(64 * 1024)
    sftp.local(f"{sftp.base}/small").write_bytes(data)
    result = copy_file(storage, f"{sftp.base}/small", LocalStorage(), str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == data and result.bytes == len(data)
    storage.stat(f"{sftp.base}/small")  # after the background close
    # stat + open together, the read, the close, the stat: 4 writes at most
    # (8 packets before: each with its IGNORE, each written alone).
    assert 1 <= len(writes) <= 4, len(writes)


async def _set(gathered: _Gathered, send: Any) -> None:
    gathered._send = send


def test_asyncssh_logs_what_it_logged_when_enabled(
    sftp: Case, caplog: pytest.LogCaptureFixture
) -> None:
    storage = sftp.storage
    assert isinstance(storage, SFTPStorage) and sftp.local is not None
    sftp.local(f"{sftp.base}/seen").write_bytes(b"x")
    with caplog.at_level(logging.DEBUG, logger="asyncssh"):
        asyncssh.set_debug_level(3)
        try:
            storage.stat(f"{sftp.base}/seen")
        finally:
            asyncssh.set_debug_level(1)
        packets = [r for r in caplog.records if "Sent" in r.getMessage()]
        caplog.clear()
        storage.stat(f"{sftp.base}/seen")
        plain = [r.getMessage() for r in caplog.records]
    assert packets  # level 3: every packet described
    assert plain and not any("Sent" in m for m in plain)  # level 1: requests, no packets
