"""Fewer socket writes per SFTP request on an asyncssh connection.

Profiled on small files (bench/RESULTS.md, "SFTP: fewer writes per
request"): the shared loop thread spent the largest share of its time in
`socket.send`, two per SFTP request, because asyncssh

- puts an empty `SSH_MSG_IGNORE` packet before every packet it sends (a
  countermeasure for CBC mode's chained IVs; OpenSSH sends none), and
- writes each packet to the socket on its own, so a stat and an open sent
  together are still two system calls, each of which on loopback also
  runs the receiving side's TCP path.

`tune` drops the empty IGNORE packets when the negotiated cipher is not
CBC (haul never offers CBC: `sftp._CIPHERS`), and gathers the packets
sent during one pass of the event loop into one write, flushed at the end
of that pass (or at once past `FLUSH_BYTES`, so large writes are not
copied into bigger buffers). Packet order, sequence numbers and
encryption are asyncssh's own, unchanged. It uses two asyncssh internals
(`send_packet`, `_send`); where a version lacks them nothing is changed.

`skip_disabled_logs` (applied on import) makes asyncssh's logging return
before formatting its arguments when nothing would be logged: it formatted
a description of every packet (two to three per packet: connection,
channel, SFTP) only to drop it unless its debug level is 3, ~7% of the
loop thread's time on small files. What is logged when enabled is unchanged.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncssh
from asyncssh.constants import MSG_IGNORE
from asyncssh.logging import SSHLogger
from asyncssh.packet import SSHPacketLogger, String

FLUSH_BYTES = 64 * 1024
_EMPTY = String(b"")


def tune(conn: asyncssh.SSHClientConnection) -> bool:
    """Applies both changes to `conn`, on its loop; True when they apply."""
    send_packet = getattr(conn, "send_packet", None)
    send = getattr(conn, "_send", None)
    if not callable(send_packet) or not callable(send):
        return False
    cipher = str(conn.get_extra_info("send_cipher") or "")
    if cipher and "cbc" not in cipher:

        def without_ignore(pkttype: int, *args: bytes, **kwargs: Any) -> None:
            if pkttype == MSG_IGNORE and args == (_EMPTY,):
                return
            send_packet(pkttype, *args, **kwargs)

        # asyncssh inserts the IGNORE through self.send_packet, so this
        # instance attribute sees it.
        conn.send_packet = without_ignore  # type: ignore[method-assign]
    gathered = _Gathered(send, asyncio.get_running_loop())
    conn._send = gathered  # type: ignore[method-assign]
    force_close = getattr(conn, "_force_close", None)
    if callable(force_close):
        # asyncssh drops its transport in _force_close, right after queueing
        # the channel CLOSEs and the DISCONNECT: what is gathered goes first,
        # so the server sees a clean end, not a lost connection.
        def flushed_close(*args: Any, **kwargs: Any) -> Any:
            gathered.flush()
            return force_close(*args, **kwargs)

        conn._force_close = flushed_close  # type: ignore[method-assign]
    return True


class _Gathered:
    """One socket write per loop pass for the packets sent during it."""

    def __init__(self, send: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._send = send
        self._loop = loop
        self._parts: list[bytes] = []
        self._size = 0

    def __call__(self, data: bytes) -> None:
        if not self._parts:
            self._loop.call_soon(self.flush)
        self._parts.append(data)
        self._size += len(data)
        if self._size >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self._parts:
            return
        parts, self._parts, self._size = self._parts, [], 0
        self._send(parts[0] if len(parts) == 1 else b"".join(parts))


def skip_disabled_logs() -> None:
    """Packet logs only at asyncssh's debug level 3 (where its `packet()`
    prints them), other logs only where the logger is enabled for them."""
    if getattr(SSHPacketLogger, "_haul_quiet", False):
        return
    log_packet = SSHPacketLogger._log_packet
    log = SSHLogger.log

    def _log_packet(self: Any, *args: Any) -> None:
        if SSHLogger._debug_level >= 3:
            log_packet(self, *args)

    def _log(self: SSHLogger, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            log(self, level, msg, *args, **kwargs)

    SSHPacketLogger._log_packet = _log_packet  # type: ignore[method-assign]
    SSHLogger.log = _log  # type: ignore[method-assign]
    SSHPacketLogger._haul_quiet = True  # type: ignore[attr-defined]


skip_disabled_logs()
