"""Received SSH bytes parsed in pieces, so asyncssh copies each byte a few times, not ~10.

Why: asyncssh keeps what it has received in one `bytes` (`_inpbuf`) and
takes each packet off its front by slicing: `_inpbuf[16:]` after the
header, `_inpbuf[rem:]` after the body, each a copy of everything behind
it. The event loop hands over up to 256 KiB per read, eight of the 32 KiB
packets a download is sent in, so the first packet's bytes are copied
with the seven behind it, twice, and so on: ~9 copies of every byte
received. A perf profile of sftp-large (4 x 256 MiB to local disk) had
`memmove` at 21% of the copying process's CPU, 12% of it under
`bytes_subscript` in `_recv_packet`/`_recv_pkthdr` on the loop thread,
which carries every SFTP connection (bench/RESULTS.md, "Large files:
where the worker's CPU goes (branch `big`)").

`piecewise_receive` feeds asyncssh's own parser (`_recv_data`) what
arrived in pieces of at most `PIECE` bytes, so at most about one packet
is behind the one being taken off. The bytes, their order and every
decision (decryption, MAC checks, packet handlers, waits for an
asynchronous handler) are asyncssh's own: a stream parser must accept
data split anywhere, as TCP splits it anyway. It uses two asyncssh
internals (`_recv_data`, `_inpbuf`); where a version lacks them nothing
is changed.
"""

from __future__ import annotations

from typing import Any

PIECE = 36 * 1024  # one 32 KiB packet with its header, padding and MAC, and a bit


def piecewise_receive(conn: Any) -> bool:
    """Makes `conn` parse large reads piece by piece; True when it applies."""
    recv_data = getattr(conn, "_recv_data", None)
    if not callable(recv_data) or not isinstance(getattr(conn, "_inpbuf", None), bytes):
        return False

    def in_pieces() -> None:
        buffer = conn._inpbuf
        if len(buffer) <= PIECE:
            recv_data()
            return
        view = memoryview(buffer)
        conn._inpbuf = bytes(view[:PIECE])
        at = PIECE
        while True:
            recv_data()
            if at >= len(view):
                return
            if getattr(conn, "_transport", True) is None:
                # Closed while parsing: the rest stays where asyncssh left it.
                conn._inpbuf += view[at:]
                return
            conn._inpbuf += view[at : at + PIECE]
            at += PIECE

    # data_received (and a finished asynchronous packet handler) call
    # self._recv_data(), so this instance attribute is the one they reach.
    conn._recv_data = in_pieces
    return True
