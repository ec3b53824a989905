"""A large HTTP download as several ranged GETs at once (WebDAV and S3).

Why: one TCP stream is bounded by its window over the path's round trip, and
a server may pace each connection; FTS3, Globus and rclone (its
`--multi-thread-streams 4` above `--multi-thread-cutoff 256M`) move a large
file as several streams. Here a body larger than RANGED_ABOVE, from a server
that says `Accept-Ranges: bytes`, is read in PART_SIZE parts: the first from
the plain GET already answered, the others by up to STREAMS - 1 ranged GETs
running ahead of the reader, each on its own kept-alive connection. The
reader still sees one stream, in order, so the copy engine hashes and writes
as for any other source and the checksum is of the whole file.

Every ranged GET names the version the first answer described (`If-Range`
with its ETag, else its Last-Modified): a file that changed meanwhile is
answered in full, not in part, and the copy fails (retryable) rather than
assembling two versions. A server that answers a range with anything but
`206` and the asked `Content-Range` fails the read the same way, and ranged
GETs are not asked of that server again.

Memory: at most STREAMS parts in hand per file (16 MiB).
"""

from __future__ import annotations

import http.client
import io
import re
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from haul.domain.errors import ErrorCode, TransferError
from haul.storage.socket_body import body_reader

RANGED_ABOVE = 256 * 1024 * 1024  # bytes; rclone's multi-thread cut-off
STREAMS = 4  # GETs of one file at once, the plain one included
PART_SIZE = 4 * 1024 * 1024

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class Body(Protocol):
    """The plain answer (`http_get.Body`): its head, and its body to read."""

    @property
    def response(self) -> http.client.HTTPResponse: ...
    @property
    def size(self) -> int: ...
    def readinto(self, buffer: memoryview) -> int: ...
    def close(self) -> None: ...


class Gets(Protocol):
    """The connections the parts are asked over (`http_get.PlainGets`)."""

    ranged: bool

    def send(
        self, target: str, headers: dict[str, str], path: str
    ) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection]: ...
    def keep(self, connection: http.client.HTTPConnection) -> None: ...
    def failure(self, exc: BaseException, path: str) -> TransferError: ...


def ranged(body: Body) -> bool:
    """Whether `body` should be read in ranges: large, from a server taking them."""
    response = body.response
    takes = (response.getheader("Accept-Ranges") or "").strip().lower() == "bytes"
    validator = response.getheader("ETag") or response.getheader("Last-Modified")
    return takes and validator is not None and body.size > RANGED_ABOVE


class RangedBody(io.RawIOBase):
    """The body of one GET, read as the plain answer's first part plus ranged parts."""

    def __init__(self, first: Body, gets: Gets, target: str, path: str) -> None:
        super().__init__()
        self._first: Body | None = first
        self._gets = gets
        self._target = target
        self._path = path
        self.size = first.size
        response = first.response
        self._validator = response.getheader("ETag") or response.getheader("Last-Modified") or ""
        self._headers = {k: v for k, v in response.getheaders()}
        self._pool = ThreadPoolExecutor(STREAMS - 1, thread_name_prefix="http-range")
        self._ahead: dict[int, Future[bytearray]] = {}
        self._next_part = 1  # the next part to ask for (part 0 is the plain answer's)
        self._part: memoryview | None = None  # the part being read, and where in it
        self._at = 0
        self._offset = 0  # bytes handed to the reader so far
        self._parts = (self.size + PART_SIZE - 1) // PART_SIZE
        self._fill()

    def header(self, name: str) -> str | None:
        return self._headers.get(name) or next(
            (v for k, v in self._headers.items() if k.lower() == name.lower()), None
        )

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        """Keeps STREAMS - 1 parts asked for ahead of the one being read."""
        while self._next_part < self._parts and len(self._ahead) < STREAMS - 1:
            index = self._next_part
            self._ahead[index] = self._pool.submit(self._fetch, index)
            self._next_part += 1

    def _fetch(self, index: int) -> bytearray:
        start = index * PART_SIZE
        end = min(self.size, start + PART_SIZE) - 1
        headers = {"Range": f"bytes={start}-{end}", "If-Range": self._validator}
        response, connection = self._gets.send(self._target, headers, self._path)
        try:
            answered = _CONTENT_RANGE.fullmatch(response.getheader("Content-Range") or "")
            if response.status != 206 or answered is None or (
                int(answered[1]), int(answered[2])
            ) != (start, end):
                self._gets.ranged = False
                raise TransferError(
                    ErrorCode.CONNECTION,
                    f"{self._path}: bytes {start}-{end} were answered {response.status} "
                    f"{response.getheader('Content-Range') or '(no Content-Range)'}: the file "
                    f"changed or the server does not serve ranges (retried in one stream)",
                )
            data = bytearray(end - start + 1)
            view, got = memoryview(data), 0
            read = body_reader(response, connection)
            while got < len(data):
                n = read(view[got:])
                if not n:
                    raise TransferError(
                        ErrorCode.CONNECTION, f"{self._path}: bytes {start}-{end} cut short"
                    )
                got += n
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise self._gets.failure(exc, self._path) from exc
        except BaseException:
            connection.close()
            raise
        response.read()  # the (empty) rest, so the connection can serve again
        self._gets.keep(connection)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._offset >= self.size:
            return 0
        if self._first is not None:  # part 0, straight from the plain answer
            want = min(len(buffer), PART_SIZE - self._offset, self.size - self._offset)
            n = self._first.readinto(memoryview(buffer)[:want])
            if not n:
                raise TransferError(ErrorCode.CONNECTION, f"{self._path}: answer cut short")
            self._offset += n
            if self._offset >= min(PART_SIZE, self.size):
                self._first.close()  # the rest of its body is not read: dropped
                self._first = None
            return n
        if self._part is None or self._at >= len(self._part):
            index = self._offset // PART_SIZE
            future = self._ahead.pop(index)
            self._fill()
            self._part, self._at = memoryview(future.result()), 0
        n = min(len(buffer), len(self._part) - self._at)
        buffer[:n] = self._part[self._at : self._at + n]
        self._at += n
        self._offset += n
        return n

    def close(self) -> None:
        if self.closed:
            return
        if self._first is not None:
            self._first.close()
            self._first = None
        for future in self._ahead.values():
            future.cancel()
        self._pool.shutdown(wait=True)
        self._ahead.clear()
        self._part = None
        super().close()
