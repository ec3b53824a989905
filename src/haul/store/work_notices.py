"""Work made through one server process wakes the long-polling claims of the others.

Several server processes may share one PostgreSQL (DESIGN.md, "Scale-out").
A worker long-polls one of them; without a cross-process signal, work
submitted through another is found only by the next poll of the claim, so
every idle worker would have to poll often. Each server process LISTENs on
one channel and NOTIFYs it after a request that may have made claimable work
commits: the other processes wake their waiting claims at once, and the poll
only catches what no request makes (a backoff running out, a lease taken
back by the reaper).

A request never waits for the NOTIFY: it only raises a flag, and a sender
thread sends one NOTIFY for however many requests flagged meanwhile (at most
one per `NOTIFY_GAP_SECONDS`), so a burst of submissions costs a few
NOTIFYs. A process ignores its own notifications (its claims were woken in
process already). SQLite serves one
process and has no notifications; nothing here runs for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import make_url

CHANNEL = "haul_work"
# How long a lost connection waits before it is opened again; also how often
# the threads look whether they were stopped.
RETRY_SECONDS = 1.0
# At most one NOTIFY per this many seconds: a burst of submissions wakes the
# other processes' claims twenty times a second, not once per submission (a
# profile of 70 submissions a second showed the sender and listener threads at
# ~5% of the server's samples with one per 10 ms). The first notice after a
# quiet spell goes at once.
NOTIFY_GAP_SECONDS = 0.05

log = logging.getLogger(__name__)


def _conninfo(url: str) -> str:
    """The libpq URL of a SQLAlchemy one (``postgresql+psycopg://`` and the like)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# A connection that the network lost without a word (a cut cable, a NAT that
# forgot it) must fail, not hang: the sender would wait on its NOTIFY for the
# kernel's retransmission timeout (~15 min), and the listener would hear
# nothing while it believed it listened. libpq's own settings bound both.
CONNECT_OPTIONS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 15_000,  # ms unacknowledged before the connection is dropped
}


def _connect(conninfo: str) -> Any:
    import psycopg

    return psycopg.connect(
        conninfo, autocommit=True, application_name="haul work notices", **CONNECT_OPTIONS
    )


class WorkNotices:
    """One process's side of the channel: `announce` to the others, `on_notice` from them."""

    def __init__(self, url: str, on_notice: Callable[[], None]) -> None:
        self._conninfo = _conninfo(url)
        self._on_notice = on_notice
        self._pending = threading.Event()
        self._stopped = threading.Event()
        self._sender_pid: int | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        # Each start has its own stop flag: threads of an earlier start that did
        # not end within stop()'s wait stay stopped rather than run twice.
        if self._threads:
            self.stop()
        self._stopped = stopped = threading.Event()
        self._threads = [
            threading.Thread(
                target=self._send_loop, args=(stopped,), name="work-notices-send", daemon=True
            ),
            threading.Thread(
                target=self._listen_loop, args=(stopped,), name="work-notices-listen", daemon=True
            ),
        ]
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        """Blocks up to a few seconds for the threads: call it off the event loop."""
        self._stopped.set()
        self._pending.set()
        for t in self._threads:
            t.join(RETRY_SECONDS * 3)
        self._threads = []

    def announce(self) -> None:
        """Safe from any thread, costs the caller nothing but a flag."""
        self._pending.set()

    def _send_loop(self, stopped: threading.Event) -> None:
        conn: Any = None
        while not stopped.is_set():
            if not self._pending.wait(RETRY_SECONDS):
                continue
            if stopped.is_set():
                break
            self._pending.clear()  # what flags from here on gets a NOTIFY of its own
            try:
                if conn is None:
                    conn = _connect(self._conninfo)
                    self._sender_pid = conn.info.backend_pid
                conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
                stopped.wait(NOTIFY_GAP_SECONDS)
            except Exception as exc:  # a server restart or a network cut: try again
                log.warning("work notice not sent (%s); retrying", exc)
                conn = _close(conn)
                self._pending.set()
                stopped.wait(RETRY_SECONDS)
        _close(conn)

    def _listen_loop(self, stopped: threading.Event) -> None:
        conn: Any = None
        while not stopped.is_set():
            try:
                if conn is None:
                    conn = _connect(self._conninfo)
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._on_notice()  # work made while no one listened is not lost
                for notice in conn.notifies(timeout=RETRY_SECONDS):
                    if notice.pid != self._sender_pid:
                        self._on_notice()
                    if stopped.is_set():
                        break
            except Exception as exc:
                log.warning("work notices not heard (%s); listening again", exc)
                conn = _close(conn)
                stopped.wait(RETRY_SECONDS)
        _close(conn)


def _close(conn: Any) -> None:
    if conn is not None:
        try:
            conn.close()
        except Exception:  # already broken; nothing left to release
            log.debug("closing a work notices connection failed", exc_info=True)
