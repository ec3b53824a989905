"""Pipelined SFTP file streams: many requests in flight, a fixed bound on memory.

SFTP answers one request per round trip; a reader that waits for each
block before asking for the next moves a block per round trip. These
streams keep up to `MAX_IN_FLIGHT` requests of the server's block size
outstanding per file (OpenSSH's own client keeps 64 of 32 KiB), as
asyncssh and OpenSSH do, so memory per open file is bounded by
`MAX_IN_FLIGHT` x block size whatever the file's size. (paramiko's
`prefetch()`, which haul used before, asks for the whole file at once and
buffers it all: see bench/RESULTS.md, "SFTP".)

The streams are synchronous file objects for the copy engine; their I/O
runs on the shared event loop (`haul.storage._loop`), one hand-over per
chunk the engine reads or writes, not per request.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import asyncssh

from haul.domain.errors import ErrorCode, ErrorScope, TransferError
from haul.storage import _loop
from haul.storage._base import WriteStream
from haul.storage.error_translation import Translator
from haul.storage.sftp_blocks import BlockQueue

_T = TypeVar("_T")
MAX_IN_FLIGHT = 16
# A large file's reads are sent half the window at a time, not one
# per block answered: each socket write wakes the server and, on loopback,
# runs its TCP receive on the loop thread while it holds the GIL (13% of the
# loop thread's time on sftp-large, bench/RESULTS.md, branch `big`).
REQUEST_BATCH = 0.5
# Requests larger than the server's limits@openssh.com figures are refused;
# servers without the extension are asked for the 32 KiB every server accepts.
FALLBACK_BLOCK = 32 * 1024
_MAX_BLOCK = 256 * 1024
IO_TIMEOUT = 60.0


def block_sizes(sftp: asyncssh.SFTPClient) -> tuple[int, int]:
    """(read, write) request sizes this server accepts."""
    limits = sftp.limits
    read = min(limits.max_read_len or FALLBACK_BLOCK, _MAX_BLOCK)
    write = min(limits.max_write_len or FALLBACK_BLOCK, _MAX_BLOCK)
    return read, write


def answers_whole_reads(sftp: asyncssh.SFTPClient) -> bool:
    """Whether a read of up to the announced length is answered in full
    before the end of a file: a server that states its limits
    (limits@openssh.com: OpenSSH, and servers that copy it) does, so a
    small file's reads can be planned to the byte and its close sent with
    them (`PipelinedReader`'s `close_early`)."""
    return bool(sftp.limits.max_read_len)


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Marks a request's failure as seen: after the first error of a stream
    the others are expected, and asyncio need not report each of them."""
    if not task.cancelled():
        task.exception()


class _Calls:
    """Runs a stream's coroutines on the loop, errors translated for the engine."""

    def __init__(self, path: str, errors: Translator) -> None:
        self.path = path
        self._errors = errors

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        with self._errors.translated(self.path):
            return _loop.run(coro, IO_TIMEOUT)


class PipelinedReader(_Calls):
    """Reads a remote file in order with up to `in_flight` requests outstanding.

    `size` (from the stat made when opening) plans the requests, each of a
    whole block; the short answer reaching the planned end is the EOF (a
    file whose size is a multiple of the block costs one more request). A
    file that grew meanwhile answers a full block there and is read on to
    its real end, so the engine's size check sees the difference.
    A file that fits in one window is read whole by `prefill`, in the same
    hand-over as the open. With `close_early` (the server answers whole
    reads: `answers_whole_reads`) its CLOSE goes out with its READs, in the
    same socket write: SFTP servers process a handle's requests in order,
    so the reads are answered first, and a small file costs one write to
    the server fewer and no request after its data. A file found changed
    then (a full block at the planned end, or a short one before it) has
    no handle left to read on: it fails with SIZE_MISMATCH (scope SOURCE),
    which `copy_file` answers by copying it again planned by a stat.
    `high_water` records the most blocks ever held at once, requests out
    plus blocks received and not yet taken (tests hold the bound to it).
    """

    def __init__(
        self,
        handle: asyncssh.SFTPClientFile,
        path: str,
        size: int,
        block: int,
        errors: Translator,
        in_flight: int = MAX_IN_FLIGHT,
        close_early: bool = False,
    ) -> None:
        super().__init__(path, errors)
        self._handle = handle
        self._close_early = close_early
        self._closing: asyncio.Future[None] | None = None  # the CLOSE, once sent
        self._size = size
        self.block = block
        self._limit = in_flight
        self._next = 0  # offset of the next request to send
        self._pending: collections.deque[tuple[int, int, asyncio.Future[bytes]]] = (
            collections.deque()
        )
        self._queue = BlockQueue(_loop.loop(), in_flight)
        self._pump_task: asyncio.Future[None] | None = None
        self._eof = False
        self._closed = False
        self._stopping = False  # closed by the thread: the pump sends nothing more
        self.high_water = 0

    def _send(self, offset: int, length: int) -> None:
        task = asyncio.ensure_future(self._handle.read(length, offset))
        task.add_done_callback(_retrieve)
        self._pending.append((offset, length, task))
        self._held()

    def _held(self) -> None:
        self.high_water = max(self.high_water, len(self._pending) + self._queue.count())

    def _top_up(self, batch: int = 1) -> None:
        # Whole blocks: the last one planned asks past the end, and its short
        # answer is the EOF (no extra request) unless the size is a multiple
        # of the block. Past the planned size one request at a time is out.
        # With `batch`, nothing is sent until that many can go at once (or
        # none is out): one socket write, one wake-up of the server, for them all.
        if self._pending and self._limit - len(self._pending) - self._queue.count() < batch:
            return
        while len(self._pending) + self._queue.count() < self._limit and not self._eof:
            if self._next > self._size and self._pending:
                return
            self._ask(self._next, self.block)
            self._next += self.block

    def _ask(self, offset: int, length: int) -> None:
        """One more read; none can follow a CLOSE sent early."""
        if self._closing is not None:
            self._eof = True
            raise TransferError(
                ErrorCode.SIZE_MISMATCH,
                f"{self.path}: changed while being read (planned {self._size} bytes)",
                scope=ErrorScope.SOURCE,
            )
        self._send(offset, length)

    async def next_chunk(self, limit: int = 0) -> bytes:
        """The next bytes in order; b'' at EOF.

        With `limit`, answers that have already arrived are joined on, up to
        `limit` bytes: one hand-over to the reading thread per engine chunk
        rather than per request.
        """
        if self._eof:
            return b""
        self._top_up()
        data = await self._take()
        if limit <= len(data) or not data:
            return data
        parts = [data]
        total = len(data)
        while total < limit and self._pending and self._pending[0][2].done() and not self._eof:
            more = await self._take()
            parts.append(more)
            total += len(more)
            self._top_up()
        return b"".join(parts)

    async def _take(self) -> bytes:
        offset, length, task = self._pending.popleft()
        try:
            data = await task
        except BaseException:
            self._eof = True  # nothing more is asked of a failed file
            raise
        if not data:
            self._eof = True
            return b""
        if len(data) < length:
            if offset + len(data) >= self._size:
                # Short at or past the planned end: the end of the file.
                self._eof = True
                return data
            # A short read mid-file: ask for the rest before anything later.
            self._ask(offset + len(data), length - len(data))
            self._pending.appendleft(self._pending.pop())
        return data

    async def prefill(self) -> None:
        """Reads a file that fits in one window to its end, in this coroutine;
        a larger one is read on by `_pump`, on the loop, from now on."""
        if self._size >= (self._limit - 1) * self.block:
            self._pump_task = asyncio.ensure_future(self._pump())
            return
        if self._close_early:
            self._top_up()  # every read the plan needs, then the CLOSE behind them
            self._closing = asyncio.ensure_future(self._handle.close())
            self._closing.add_done_callback(_retrieve)
        try:
            while chunk := await self.next_chunk():
                self._queue.put(chunk, more=True)
        finally:
            self._closed = True
            _loop.background(self._close())
        self._queue.end()

    async def _pump(self) -> None:
        """Keeps the requests going and queues the blocks in order, until
        the end, a failure, or `close`; stops while the queue is full."""
        batch = max(1, int(self._limit * REQUEST_BATCH))
        try:
            while not self._eof and not self._stopping:
                self._top_up(batch)
                if not self._pending:  # as many blocks queued as the bound allows
                    if self._queue.stopped():
                        await self._queue.room.wait()
                    continue
                data = await self._take()
                if data:  # queued before the next request: never a block more than the bound
                    self._queue.put(data, more=bool(self._pending))
                    self._held()
        except BaseException as exc:
            self._queue.end(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
        else:
            self._queue.end()

    async def _close(self) -> None:
        # Requests still out are answered soon (past EOF, or on their way):
        # wait for them rather than leave answers to a closed handle.
        self._stopping = True
        if self._pump_task is not None:
            self._queue.room.set()
            with contextlib.suppress(BaseException):  # its error was the reader's
                await self._pump_task
        pending, self._pending = self._pending, collections.deque()
        for _, _, task in pending:
            with contextlib.suppress(Exception):
                await task
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._handle.close())
            self._closing.add_done_callback(_retrieve)
        with contextlib.suppress(Exception):  # a read handle has nothing to commit
            await self._closing

    def read_chunk(self, limit: int = 0) -> bytes:
        """The next blocks that have arrived (joined while they fit in
        `limit`), waiting only when none has; b'' at the end."""
        with self._errors.translated(self.path):
            return self._queue.take(limit, IO_TIMEOUT)

    def close(self) -> None:
        """Closes the handle in the background: nothing to wait for on a read."""
        if not self._closed:
            self._closed = True
            _loop.submit(self._close())


class ReadStream(WriteStream):
    """The engine's file object over a PipelinedReader (readable, not writable)."""

    # `read` of at least a block gives the blocks received as they are, no
    # copy: the copy engine reads this stream by `read` (chunks.chunk_reader).
    hands_out_blocks = True

    def __init__(self, reader: PipelinedReader) -> None:
        super().__init__()
        self.reader = reader
        self._left = b""

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._left:
            self._left = self.reader.read_chunk()
        n = min(len(b), len(self._left))
        b[:n] = self._left[:n]
        self._left = self._left[n:]
        return n

    def read(self, size: int = -1) -> bytes:
        """Whole blocks, as many as have arrived up to `size`, when the caller
        asks for at least one."""
        if not self._left and size >= self.reader.block:
            return self.reader.read_chunk(size)
        return super().read(size)  # type: ignore[no-any-return]

    def close(self) -> None:
        if not self.closed:
            try:
                self.reader.close()
            finally:
                super().close()


class PipelinedWriter(_Calls, WriteStream):
    """Writes with up to `in_flight` requests outstanding; errors arrive at the
    next write or at close. The file is opened by the first write (or by
    `close()` for an empty file), in the same hand-over as that write's
    requests. `close()` waits for every answer, then closes the handle;
    `abort()` gives up without waiting for the writes."""

    def __init__(
        self,
        opener: Callable[[], Coroutine[Any, Any, asyncssh.SFTPClientFile]],
        path: str,
        block: int,
        errors: Translator,
        in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        _Calls.__init__(self, path, errors)
        WriteStream.__init__(self)
        self._opener = opener
        self._handle: asyncssh.SFTPClientFile | None = None
        self._block = block
        self._limit = in_flight
        self._offset = 0
        self._pending: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.high_water = 0

    async def _opened(self) -> asyncssh.SFTPClientFile:
        if self._handle is None:
            self._handle = await self._opener()
        return self._handle

    async def _write(self, data: bytes) -> None:
        handle = await self._opened()
        view = memoryview(data)
        for start in range(0, len(view), self._block):
            while len(self._pending) >= self._limit:
                await self._pending.popleft()
            piece = bytes(view[start : start + self._block])
            task = asyncio.ensure_future(handle.write(piece, self._offset))
            task.add_done_callback(_retrieve)
            self._pending.append(task)
            self.high_water = max(self.high_water, len(self._pending))
            self._offset += len(piece)

    async def _finish(self) -> None:
        handle = await self._opened()
        while self._pending:
            await self._pending.popleft()
        await handle.close()

    async def _abort(self) -> None:
        pending, self._pending = self._pending, collections.deque()
        for task in pending:
            with contextlib.suppress(BaseException):  # giving up anyway
                await task
        if self._handle is not None:
            with contextlib.suppress(Exception):
                await self._handle.close()

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("write to a closed SFTP stream")
        data = bytes(b)
        if data:
            self.run(self._write(data))
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                self.run(self._finish())
            finally:
                WriteStream.close(self)

    def abort(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):  # giving up anyway
                _loop.run(self._abort(), IO_TIMEOUT)
            WriteStream.close(self)
