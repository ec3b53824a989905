"""Reading a stream in chunks, into one reused buffer where that is safe.

``stream.read(n)`` allocates a fresh ``bytes`` of up to `n` per call: for a
4 MiB chunk that is fresh memory the kernel must fault in page by page, about
as costly as the copy itself on local disks, and for a 64 KiB file it is a
4 MiB allocation per read. ``readinto`` one buffer avoids both. The buffer
may be reused only if whoever receives a chunk is done with it before the
next read: hashers are, and so are writers of storages that declare
``reusable_write_buffers`` (local files). Others get fresh bytes per chunk.
"""

from __future__ import annotations

from typing import BinaryIO


class Chunks:
    def __init__(self, stream: BinaryIO, chunk_size: int, *, reuse: bool, expect: int = -1) -> None:
        """`expect`: the stream's size when known, so a small file gets a small buffer."""
        self._stream = stream
        self._size = chunk_size
        self._view: memoryview | None = None
        readinto = getattr(stream, "readinto", None)
        if reuse and readinto is not None:
            # One byte more than expected, so the end is found without a second buffer.
            size = chunk_size if expect < 0 else max(1, min(chunk_size, expect + 1))
            self._view = memoryview(bytearray(size))
            self._readinto = readinto

    def next(self) -> memoryview | bytes:
        """The next chunk (empty at the end); a reused view is valid until the next call."""
        if self._view is None:
            return self._stream.read(self._size)
        n = self._readinto(self._view)
        return self._view[: n or 0]
