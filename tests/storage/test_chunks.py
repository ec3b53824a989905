"""chunks.chunk_reader: one reused buffer where safe, a stream's own blocks where it holds them."""

from __future__ import annotations

import io

from haul.storage.chunks import chunk_reader


class _Blocks(io.RawIOBase):
    """Hands out the blocks it holds, as SFTP's ReadStream does."""

    hands_out_blocks = True

    def __init__(self, blocks: list[bytes]) -> None:
        super().__init__()
        self.blocks = list(blocks)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self.blocks.pop(0) if self.blocks else b""

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        raise AssertionError("a stream holding its blocks is not copied from")


def test_a_stream_holding_its_blocks_hands_them_over_as_they_are() -> None:
    blocks = [b"a" * 10, b"b" * 7]
    next_chunk = chunk_reader(_Blocks(blocks), 16, reuse=True, expect=17)
    got = [next_chunk(), next_chunk(), next_chunk()]
    assert got[0] is blocks[0] and got[1] is blocks[1] and got[2] == b""


def test_other_streams_are_read_into_one_reused_buffer() -> None:
    next_chunk = chunk_reader(io.BytesIO(b"x" * 20), 8, reuse=True)
    first = next_chunk()
    assert isinstance(first, memoryview) and bytes(first) == b"x" * 8
    second = next_chunk()
    assert second.obj is first.obj  # the same buffer
