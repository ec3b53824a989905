"""The `dummy://` backend's file streams: deterministic bytes out, hashed bytes in.

A generated file's bytes are a function of its path (`seed_of`), so two
reads agree and checksums are stable without storing anything; a written
file is hashed while it streams (every algorithm, so any later checksum
query answers) and kept only when the storage asks (`keep`).
"""

from __future__ import annotations

import io
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from haul.storage._base import WriteStream
from haul.storage.checksums import ALGORITHMS, new_hasher

_PERIOD = 251  # prime, so the byte pattern does not line up with chunk sizes
_PATTERN = bytes(range(_PERIOD))
_EMPTY_SUMS = {alg: new_hasher(alg).hexdigest() for alg in ALGORITHMS}


@dataclass
class Written:
    size: int
    mtime: float
    checksums: dict[str, str]
    content: bytes | None
    seed: int


def seed_of(path: str) -> int:
    return zlib.crc32(path.encode())


def pattern_bytes(seed: int, offset: int, length: int) -> bytes:
    """Bytes [offset, offset+length) of the deterministic stream for `seed`."""
    if length <= 0:
        return b""
    start = (offset + seed) % _PERIOD
    reps = (start + length) // _PERIOD + 1
    return (_PATTERN * reps)[start : start + length]


class _Throttle:
    """Sleeps so that a stream does not go faster than `speed` bytes/s."""

    def __init__(self, speed: float | None) -> None:
        self._speed = speed
        self._start = time.monotonic()
        self._done = 0

    def account(self, n: int) -> None:
        if not self._speed:
            return
        self._done += n
        ahead = self._done / self._speed - (time.monotonic() - self._start)
        if ahead > 0:
            time.sleep(ahead)


class Reader(io.RawIOBase):
    """A file's bytes: kept content, or the pattern of its seed; at `speed` at most."""

    def __init__(self, size: int, seed: int, content: bytes | None, speed: float | None) -> None:
        super().__init__()
        self._size = size
        self._seed = seed
        self._content = content
        self._pos = 0
        self._throttle = _Throttle(speed)

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(b), self._size - self._pos)
        if n <= 0:
            return 0
        if self._content is not None:
            b[:n] = self._content[self._pos : self._pos + n]
        else:
            b[:n] = pattern_bytes(self._seed, self._pos, n)
        self._pos += n
        self._throttle.account(n)
        return n


class Writer(WriteStream):
    """Hashes what is written (kept too, with `keep`); `commit` gets it at close."""

    def __init__(
        self, speed: float | None, keep: bool, commit: Callable[[Written], None], path: str
    ) -> None:
        super().__init__()
        self._commit = commit
        self._path = path
        self._hashers: dict[str, Any] | None = None  # made at the first byte (see close)
        self._size = 0
        self._chunks: list[bytes] | None = [] if keep else None
        self._throttle = _Throttle(speed)

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        data = bytes(b)
        if self._hashers is None:
            self._hashers = {alg: new_hasher(alg) for alg in ALGORITHMS}
        for hasher in self._hashers.values():
            hasher.update(data)
        if self._chunks is not None:
            self._chunks.append(data)
        self._size += len(data)
        self._throttle.account(len(data))
        return len(data)

    def close(self) -> None:
        if self.closed:
            return
        content = b"".join(self._chunks) if self._chunks is not None else None
        written = Written(
            size=self._size,
            mtime=time.time(),
            checksums=(
                {alg: h.hexdigest() for alg, h in self._hashers.items()}
                if self._hashers is not None
                else _EMPTY_SUMS  # an empty file: benchmarks write thousands
            ),
            content=content,
            seed=seed_of(self._path),
        )
        self._commit(written)
        super().close()
