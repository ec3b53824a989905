"""What the worker sends about its elements: heartbeats, and reports that can be encoded.

A report the server cannot take (a file name that is not UTF-8 in a log, an
error message) must fail only its own element, never the request it shares
with other elements' reports (issue 10, point 5): the loop sends the batch,
and on `Unencodable` sends it again with such reports replaced here.
"""

from __future__ import annotations

import time

from haul.domain.errors import ErrorCode, TransferError
from haul.protocol.beats import HeartbeatItem
from haul.protocol.error_report import ErrorDict
from haul.protocol.results import ResultItem
from haul.worker.protocol import problem
from haul.worker.running import Running


def beat_due(run: Running, now: float, heartbeat_seconds: float) -> bool:
    """A running element is beaten when new, when its bytes moved, and every interval."""
    if run.started is None:
        return False  # still queued: its lease is long enough to wait
    if run.beat_at is None:
        return True
    p = run.progress
    moved = (p.transferred if p else 0) != run.beat_bytes
    return moved or now - run.beat_at >= heartbeat_seconds


def beat_of(run: Running, now: float) -> HeartbeatItem:
    """The element's heartbeat; remembers what it said, for `beat_due`."""
    p = run.progress
    run.beat_at, run.beat_bytes = now, p.transferred if p else 0
    return {
        "jobid": run.element["job_id"],
        "elementid": run.element["id"],
        "token": run.element["token"],
        "transferred": p.transferred if p else 0,
        "elapsed": p.elapsed if p else time.monotonic() - (run.started or 0.0),
        "instant": p.instant if p else 0.0,
        "average": p.average if p else 0.0,
    }


def encodable_beats(runs: list[Running], beats: list[HeartbeatItem]) -> list[HeartbeatItem]:
    """Beats that can be sent; an element whose beat cannot fails on its own."""
    kept = []
    for run, beat in zip(runs, beats, strict=True):
        reason = problem(beat)
        if reason is None:
            kept.append(beat)
        else:
            run.stop(unencodable_error("heartbeat", reason))
    return kept


def unencodable_error(what: str, reason: str) -> ErrorDict:
    message = f"the worker could not encode this element's {what} as JSON: {reason}"
    return TransferError(ErrorCode.INVALID, message, retryable=False).to_dict()  # type: ignore[return-value]


def encodable_result(result: ResultItem) -> ResultItem:
    """`result`, or in its place a failure of that element that can be sent.

    The log is kept with undecodable characters shown as backslash escapes,
    so the attempt's output still says what happened.
    """
    reason = problem(result)
    if reason is None:
        return result
    log_text = str(result.get("log") or "").encode("utf-8", "backslashreplace").decode()
    return {
        "jobid": result["jobid"],
        "elementid": result["elementid"],
        "token": result["token"],
        "host": result.get("host", ""),
        "returncode": 1,
        "log": log_text,
        "error": unencodable_error("result", reason),
    }
