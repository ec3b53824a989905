"""Reading a stream in chunks, into one reused buffer where that is safe.

``stream.read(n)`` allocates a fresh ``bytes`` of up to `n` per call: for a
64 KiB file read with 4 MiB chunks that is a 4 MiB allocation per read, and
fresh memory the kernel must fault in. ``readinto`` one buffer, sized to the
file when its size is known, avoids both. The buffer may be reused only if
whoever receives a chunk is done with it before the next read: hashers are,
and so are writers of storages that declare ``reusable_write_buffers``
(local files). Others get fresh bytes per chunk, as do streams whose
``read`` hands out bytes they already hold (``hands_out_blocks``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import BinaryIO


def chunk_reader(
    stream: BinaryIO, chunk_size: int, *, reuse: bool, expect: int = -1
) -> Callable[[], memoryview | bytes]:
    """A callable returning the next chunk (empty at the end).

    With `reuse`, a chunk is a view of one buffer, valid until the next call.
    `expect` is the stream's size when known, so a small file gets a small buffer.
    """
    # A stream that already holds its bytes whole (`hands_out_blocks`: SFTP's
    # blocks as they arrived) gives them by `read` as they are; its readinto
    # would copy each into the buffer, one more pass over every byte.
    own = bool(getattr(stream, "hands_out_blocks", False))
    readinto = getattr(stream, "readinto", None) if reuse and not own else None
    if readinto is None:
        return functools.partial(stream.read, chunk_size)
    # One byte more than expected, so the end is found without a second buffer.
    size = chunk_size if expect < 0 else max(1, min(chunk_size, expect + 1))
    view = memoryview(bytearray(size))

    def next_chunk() -> memoryview:
        return view[: readinto(view) or 0]

    return next_chunk
