"""Counts the SQL statements a process runs, by statement, for profiling the server.

Put this directory on ``PYTHONPATH`` and set ``HAUL_SQL_COUNT=PREFIX``: every
statement executed through SQLAlchemy is counted (with its executemany
parameter sets), and the counts are written to PREFIX.PID as JSON when the
process exits, gets SIGTERM or gets SIGUSR1 (a process that ran none writes
nothing). Measurement only; nothing in haul imports it.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import threading
from collections import Counter
from typing import Any

_OUT = os.environ.get("HAUL_SQL_COUNT")
_calls: Counter[str] = Counter()
_rows: Counter[str] = Counter()
_lock = threading.Lock()


def _dump(*_: Any) -> None:
    if _OUT and _calls:
        with open(f"{_OUT}.{os.getpid()}", "w") as f:
            json.dump({"calls": dict(_calls), "rows": dict(_rows)}, f, indent=1)


if _OUT:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "before_cursor_execute")
    def _count(conn: Any, cursor: Any, statement: str, params: Any, ctx: Any, many: bool) -> None:
        key = " ".join(statement.split())[:160]
        with _lock:
            _calls[key] += 1
            _rows[key] += len(params) if many else 1

    def _dump_and_die(signum: int, _frame: Any) -> None:
        # uvicorn restores the handler it found and re-raises SIGTERM after a
        # graceful shutdown, so this is where a stopped server ends.
        _dump()
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    atexit.register(_dump)
    signal.signal(signal.SIGUSR1, _dump)
    signal.signal(signal.SIGTERM, _dump_and_die)
