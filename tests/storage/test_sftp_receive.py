"""sftp_receive: what arrives is parsed in pieces, every byte once and in
order, on a fake parser and through the real sshd (the copies around block
boundaries themselves are test_sftp_streams')."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import pytest

from haul.storage import copy_file
from haul.storage.local import LocalStorage
from haul.storage.sftp import SFTPStorage
from haul.storage.sftp_receive import PIECE, piecewise_receive
from tests.storage.conftest import Case, make_case


class _FakeConn:
    """A parser of 5-byte packets, asyncssh's way: `_inpbuf` sliced from the front."""

    def __init__(self, close_after: int | None = None) -> None:
        self._inpbuf = b""
        self._transport: object | None = object()
        self.packets: list[bytes] = []
        self.seen: list[int] = []  # the buffer's length at each parse
        self._close_after = close_after

    def data_received(self, data: bytes) -> None:
        self._inpbuf += data
        self._recv_data()

    def _recv_data(self) -> None:
        self.seen.append(len(self._inpbuf))
        while len(self._inpbuf) >= 5 and self._transport is not None:
            self.packets.append(self._inpbuf[:5])
            self._inpbuf = self._inpbuf[5:]
            if self._close_after is not None and len(self.packets) >= self._close_after:
                self._transport = None


def test_a_large_read_is_parsed_in_pieces_every_byte_once_in_order() -> None:
    conn = _FakeConn()
    assert piecewise_receive(conn)
    data = os.urandom(5 * 100_000 + 3)  # 3 bytes of a packet still to come
    conn.data_received(data[:1000])
    conn.data_received(data[1000:])
    assert b"".join(conn.packets) == data[:-3] and conn._inpbuf == data[-3:]
    assert max(conn.seen) <= PIECE + 5  # a piece plus what the last one left
    conn.data_received(b"xy")
    assert conn.packets[-1] == data[-3:] + b"xy" and conn._inpbuf == b""


def test_a_connection_closed_while_parsing_keeps_the_rest_unparsed() -> None:
    conn = _FakeConn(close_after=2)
    piecewise_receive(conn)
    data = os.urandom(3 * PIECE)
    conn.data_received(data)
    assert conn.packets == [data[:5], data[5:10]]
    assert conn._inpbuf == data[10:]  # left where the parser stopped, nothing lost


def test_a_connection_without_the_internals_is_left_alone() -> None:
    class Other:
        _inpbuf = bytearray()

    assert not piecewise_receive(Other())
    assert not piecewise_receive(object())


@pytest.fixture
def sftp(request: pytest.FixtureRequest) -> Case:
    return make_case(request, "sftp")


def test_the_real_connection_parses_in_pieces(sftp: Case, tmp_path: Path) -> None:
    storage = sftp.storage
    assert isinstance(storage, SFTPStorage) and sftp.local is not None
    assert storage._conn._recv_data.__name__ == "in_pieces"  # type: ignore[union-attr]
    data = os.urandom(9 * 1024 * 1024 + 11)
    sftp.local(f"{sftp.base}/big").write_bytes(data)
    result = copy_file(storage, f"{sftp.base}/big", LocalStorage(), str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == data
    assert result.checksum == f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"
