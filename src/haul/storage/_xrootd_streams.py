"""Reading and writing one XRootD file with several requests in flight.

Why: one request per chunk, each waited for before the next is sent, leaves
the link and the server idle for a round trip per chunk while the worker
hashes and writes. So a large file is read as up to `IN_FLIGHT` ranged reads
at once (XRootD reads take an offset), answered into their own buffers and
handed out in order, and written the same way (writes carry their offset).
A file that fits in one chunk costs exactly one read, sent as soon as the
file is open (its size came with the open): its round trip then overlaps
what the copy engine does before it reads (the checksum query, preparing
and opening the destination's temporary) instead of following it. Its end
is known from that size, so no second read asks for the end of the file.
"""

from __future__ import annotations

import collections
import contextlib
import io
import threading
from typing import Any

from XRootD import client as xrd

from haul.storage._base import WriteStream
from haul.storage._xrootd_status import ok, translate

CHUNK = 4 * 1024 * 1024  # bytes per read request
IN_FLIGHT = 4  # requests outstanding per file: CHUNK * IN_FLIGHT bytes buffered at most
# Read-ahead chunks shared by the files read at once (`ReadBudget`).
READ_BUDGET_CHUNKS = 8
# Writes are sent as the copy engine hands them (its chunks are small, so
# they stay in the CPU's cache: bench/RESULTS.md, "Chunks that fit the
# cache"); what bounds them is the bytes outstanding, the same as the reads'.
WRITE_IN_FLIGHT_BYTES = CHUNK * IN_FLIGHT


class Answer:
    """One asynchronous request's outcome, set from the XRootD client's thread.

    A lock held until the answer comes, not a `threading.Event`: an Event
    is a Condition, a lock and a waiter lock per wait, all Python code, and
    a small file's copy waits for two answers (its one read, the checksum).
    """

    __slots__ = ("_pending", "status", "data")

    def __init__(self) -> None:
        self._pending = threading.Lock()
        self._pending.acquire()  # released by the answer
        self.status: Any = None
        self.data: Any = None

    def __call__(self, status: Any, response: Any, _hosts: Any) -> None:
        self.status, self.data = status, response
        self._pending.release()

    def wait(self, timeout: float) -> bool:
        if not self._pending.acquire(timeout=timeout):
            return False
        self._pending.release()  # answered: every later wait returns at once
        return True


class ReadBudget:
    """How many reads each large file may have ahead of its reader, by how many
    large files are being read at once.

    Why: each chunk ahead is held twice over its life, first in the buffer the
    bindings allocate in the reading thread, then, answered, in a `bytes` made
    in the client's callback thread; glibc keeps the two in different arenas,
    so the resident memory is about twice the read-ahead of all files (four
    files of 4 x 4 MiB ahead: ~190 MB of arenas in the benchmark's root-large).
    One file alone still gets IN_FLIGHT chunks ahead (a long link needs them),
    several share READ_BUDGET_CHUNKS, at least two each (one answered while
    the next is on its way).
    """

    def __init__(self, chunks: int) -> None:
        self._chunks = chunks
        self._readers = 0
        self._lock = threading.Lock()

    def join(self) -> None:
        with self._lock:
            self._readers += 1

    def leave(self) -> None:
        with self._lock:
            self._readers -= 1

    def ahead(self) -> int:
        """Reads one large file may have outstanding now."""
        return max(2, min(IN_FLIGHT, self._chunks // max(1, self._readers)))


BUDGET = ReadBudget(READ_BUDGET_CHUNKS)


class Reader(io.RawIOBase):
    """The bytes of an open file of known `size`, read ahead in order."""

    def __init__(self, handle: xrd.File, path: str, size: int, timeout: int) -> None:
        super().__init__()
        self._handle = handle
        self._path = path
        self._size = size
        self._timeout = timeout
        self._sent = 0  # offset of the next read to send
        self._pending: collections.deque[tuple[int, Answer]] = collections.deque()
        self._data: bytes = b""
        self._pos = 0
        self._eof = size == 0
        # The small file's one read, already on its way (None: not sent).
        self._early: Answer | None = None
        if 0 < size <= CHUNK:
            early = Answer()
            if handle.read(0, size, timeout=timeout, callback=early).ok:
                self._early = early
        self._budgeted = size > CHUNK
        if self._budgeted:
            BUDGET.join()

    def readable(self) -> bool:
        return True

    def _send(self) -> None:
        ahead = BUDGET.ahead()
        while len(self._pending) < ahead and self._sent < self._size:
            n = min(CHUNK, self._size - self._sent)
            answer = Answer()
            status = self._handle.read(self._sent, n, timeout=self._timeout, callback=answer)
            ok(status, self._path)
            self._pending.append((n, answer))
            self._sent += n

    def _fetch(self) -> bytes:
        if self._eof:
            return b""
        if self._size <= CHUNK:  # the common small file: one request
            self._eof = True
            early, self._early = self._early, None
            if early is None:  # it could not be sent early: ask now
                status, data = self._handle.read(0, self._size, timeout=self._timeout)
                ok(status, self._path)
                return data or b""
            if not early.wait(self._timeout + 5):
                raise translate(_Timeout(), self._path)
            ok(early.status, self._path)
            return early.data or b""
        self._send()
        if not self._pending:
            self._eof = True
            return b""
        asked, answer = self._pending.popleft()
        if not answer.wait(self._timeout + 5):
            raise translate(_Timeout(), self._path)
        ok(answer.status, self._path)
        data = answer.data or b""
        if len(data) < asked:  # the file shrank since it was opened: stop here
            self._eof = True
        else:
            self._send()  # keep the window full while the caller works
        return data

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        if self._pos >= len(self._data):
            self._data, self._pos = self._fetch(), 0
        data, pos = self._data, self._pos
        if pos == 0 and size >= len(data):
            self._pos = len(data)
            return data  # the whole answer, uncopied
        self._pos = min(len(data), pos + size)
        return data[pos : self._pos]

    def readall(self) -> bytes:
        parts = [self._data[self._pos :]]
        self._data, self._pos = b"", 0
        while chunk := self._fetch():
            parts.append(chunk)
        return b"".join(parts)

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        """Copied straight from the answer: `read`'s slice would be a second
        copy, and a fresh allocation of the engine's chunk, per call."""
        if self._pos >= len(self._data):
            self._data, self._pos = self._fetch(), 0
        pos = self._pos
        n = min(len(b), len(self._data) - pos)
        b[:n] = memoryview(self._data)[pos : pos + n]
        self._pos = pos + n
        return n

    def close(self) -> None:
        if self.closed:
            return
        try:
            for _, answer in self._pending:  # let answers land before the handle goes
                answer.wait(self._timeout)
            self._pending.clear()
            if self._early is not None:  # closed unread (the copy failed first)
                self._early.wait(self._timeout)
                self._early = None
            close_in_background(self._handle, self._timeout)
        finally:
            if self._budgeted:
                self._budgeted = False
                BUDGET.leave()
            super().close()


# Read handles whose close is in flight, kept alive until the server answers.
_closing: set[xrd.File] = set()
_closing_lock = threading.Lock()


def close_in_background(handle: xrd.File, timeout: int) -> None:
    """Closes a handle that was only read from, without waiting for the answer.

    Why: every byte is already in hand, so the close's round trip (half a
    millisecond of a 64 KiB file's ~2.7 ms on loopback) need not be waited
    for; the server's answer changes nothing for the copy. The handle stays
    referenced until it comes, so the client never frees a file it is still
    closing. A close that cannot even be sent is simply dropped.
    """
    with _closing_lock:
        _closing.add(handle)

    def done(_status: Any, _response: Any, _hosts: Any) -> None:
        with _closing_lock:
            _closing.discard(handle)

    status = handle.close(timeout=timeout, callback=done)
    if not status.ok:
        with _closing_lock:
            _closing.discard(handle)


class Writer(WriteStream):
    """Writes at increasing offsets, up to WRITE_IN_FLIGHT_BYTES outstanding."""

    def __init__(self, handle: xrd.File, path: str, timeout: int) -> None:
        super().__init__()
        self._handle = handle
        self._path = path
        self._timeout = timeout
        self._offset = 0
        # Each request keeps its bytes referenced until the server answered.
        self._pending: collections.deque[tuple[bytes, Answer]] = collections.deque()
        self._pending_bytes = 0

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if isinstance(b, memoryview) and isinstance(b.obj, bytes) and b.nbytes == len(b.obj):
            data = b.obj  # the copy engine's whole chunk: no copy needed
        else:
            data = bytes(b)
        if not data:
            return 0
        while self._pending and self._pending_bytes + len(data) > WRITE_IN_FLIGHT_BYTES:
            self._settle_one()
        answer = Answer()
        status = self._handle.write(data, self._offset, timeout=self._timeout, callback=answer)
        ok(status, self._path)
        self._pending.append((data, answer))
        self._pending_bytes += len(data)
        self._offset += len(data)
        return len(data)

    def _settle_one(self) -> None:
        data, answer = self._pending.popleft()
        self._pending_bytes -= len(data)
        if not answer.wait(self._timeout + 5):
            raise translate(_Timeout(), self._path)
        ok(answer.status, self._path)

    def close(self) -> None:
        if self.closed:
            return
        try:
            while self._pending:
                self._settle_one()
            status, _ = self._handle.close(timeout=self._timeout)
            ok(status, self._path)
        finally:
            self._pending.clear()
            super().close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # giving up anyway
            for _, answer in self._pending:
                answer.wait(self._timeout)
            self._pending.clear()
            self._handle.close(timeout=self._timeout)
        WriteStream.close(self)


class _Timeout:
    """Stands in for a client status when an answer never came."""

    ok = False
    code = 206  # XrdCl errOperationExpired
    errno = 0
    message = "no answer from the server in time"
