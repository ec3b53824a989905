"""Reading a download's body straight from its socket (WebDAV and S3 GETs).

Why: `http.client` reads a body through a `BufferedReader` over socket.py's
`SocketIO`, and over TLS through ssl.py's `recv_into` and `read`: three
Python frames for every TLS record, each record one call into OpenSSL.
Apache's mod_ssl sends records of 8,000 bytes (its buckets' size), so a GiB
is 134,000 records and 400,000 Python frames: in a profile of the copy,
libpython took as many samples as the decryption in libcrypto (bench/RESULTS.md,
"Large files: TPC verified as it goes, WebDAV bodies read from the socket").
Here each record is one call of the socket's own read (`SSLSocket.read`, or
`socket.recv_into` for plain HTTP), in a loop that fills the caller's whole
chunk.

Only a body of known length is read this way (a plain `200` with
`Content-Length`, or a `206` part): first whatever `http.client` buffered
past the head, then exactly the rest from the socket, never a byte of
what follows it; at its end the answer is closed, as `http.client` closes
it, so the connection can serve the next request. A body that ends early
raises `http.client.IncompleteRead`, as `http.client` would.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
from collections.abc import Callable


class SocketBody:
    """The rest of one answer's body, `length` bytes, read from `sock`."""

    def __init__(self, response: http.client.HTTPResponse, sock: socket.socket, length: int):
        self._response = response
        self._sock = sock
        self._tls = isinstance(sock, ssl.SSLSocket)
        self._left = length
        self._got = 0
        fp = response.fp
        # What http.client's buffer holds of the body (a peek of a full buffer
        # reads nothing; of an empty one, one read of the body it holds then).
        self._buffered = min(len(fp.peek()), length) if fp is not None and length else 0

    @staticmethod
    def usable(response: http.client.HTTPResponse, sock: socket.socket | None) -> bool:
        """Whether the body can be read here: a known length, a buffered reader
        in front of a plain or TLS socket."""
        fp = response.fp
        return (
            sock is not None
            and response.length is not None
            and response.chunked is False
            and fp is not None
            and hasattr(fp, "peek")
            and type(sock) in (socket.socket, ssl.SSLSocket)
        )

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Fills `buffer` (or what is left of the body); 0 at the end."""
        view = memoryview(buffer)
        want = min(len(view), self._left)
        if want <= 0:
            self._finish()
            return 0
        got = 0
        if self._buffered:
            fp = self._response.fp
            assert fp is not None
            got = fp.readinto(view[: min(want, self._buffered)])
            self._buffered -= got
        if self._tls:
            read = _record_reader(self._sock)
            while got < want:
                n = read(want - got, view[got:want])
                if not n:
                    break
                got += n
        else:
            recv_into = self._sock.recv_into
            while got < want:
                n = recv_into(view[got:want])
                if not n:
                    break
                got += n
        self._left -= got
        self._got += got
        if got < want:
            raise http.client.IncompleteRead(b"", self._left)
        if not self._left:
            self._finish()
        return got

    def _finish(self) -> None:
        """The body is read: the answer is closed, its connection free for the next GET."""
        if not self._response.isclosed():
            self._response.close()


def _record_reader(sock: socket.socket) -> Callable[[int, memoryview], int]:
    """One TLS record into a buffer: the C object's `read` under ssl.py's wrapper.

    `SSLSocket.read` is a Python function around `_sslobj.read` (a closed
    check, a try block): one more Python frame for each of the ~134,000
    records of a GiB from Apache, held under the GIL that the other
    transfers' threads wait for. The C read answers the same (0 at a clean
    close; a ragged end raises `SSLEOFError`, an OSError, where the wrapper
    gives 0: either way the body fails as a broken connection). Where the
    attribute is not there, the wrapper it is.
    """
    inner = getattr(sock, "_sslobj", None)
    read = getattr(inner, "read", None)
    if callable(read):
        return read  # type: ignore[no-any-return]
    return sock.read  # type: ignore[attr-defined,no-any-return]


def body_reader(
    response: http.client.HTTPResponse, connection: http.client.HTTPConnection
) -> Callable[[bytearray | memoryview], int]:
    """`readinto` of the answer's body: from its socket where it can be, else
    through http.client."""
    with contextlib.suppress(OSError, ValueError):
        if SocketBody.usable(response, connection.sock):
            assert response.length is not None
            return SocketBody(response, connection.sock, response.length).readinto
    return response.readinto
