"""An element a worker holds, from its lease to its result."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from haul.domain.lanes import is_namespace
from haul.protocol.error_report import ErrorDict
from haul.protocol.leases import LeasedElement, LeasedJob
from haul.storage import Progress

_last_stamp: tuple[int, str] = (-1, "")


def _stamp() -> str:
    """The log lines' UTC time to the second, formatted once a second, not per line
    (a small file's copy logs about five lines)."""
    global _last_stamp
    now = int(time.time())
    second, text = _last_stamp
    if second != now:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        _last_stamp = (now, text)
    return text


class CancelFlag:
    """``set``/``is_set`` as on ``threading.Event``, without the Condition an Event
    allocates: nothing waits on it, and a worker makes one per element."""

    __slots__ = ("_set",)

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set


@dataclass
class Running:
    """An element this worker holds: its lease, progress and cancel flag.

    ``override`` is the error to report when the worker itself cancelled the
    element: its shutdown grace period ran out (a retryable loss, so another
    worker runs it again, rather than the user's CANCELLED), or one of its
    reports could not be encoded.
    """

    job: LeasedJob  # without its "elements"
    element: LeasedElement
    cancel: CancelFlag = field(default_factory=CancelFlag)
    progress: Progress | None = None
    started: float | None = None  # monotonic time execution began; None while queued
    # Monotonic time the lease runs out unless a heartbeat extends it (None: unknown).
    lease_deadline: float | None = None
    beat_at: float | None = None  # monotonic time of the last heartbeat sent for it
    beat_bytes: int = -1  # the byte count that heartbeat carried
    lines: list[str] = field(default_factory=list)
    override: ErrorDict | None = None

    @property
    def key(self) -> tuple[int, int]:
        return (self.element["job_id"], self.element["id"])

    @property
    def namespace(self) -> bool:
        """A namespace operation: it runs first, on the worker's namespace lane."""
        e = self.element
        return is_namespace(
            str(e.get("type")), int(e["id"]), e.get("src_filepath"), self.job.get("src_filepath")
        )

    @property
    def listed_size(self) -> int | None:
        """The size this job's LIST saw of the file (copy_file's `listed_size`).

        None where no LIST measured this file: a job that names its files
        (no source path; the size is 0 or what the user wrote, checked as
        `expect`), a recover check's element (`mode`: the file may have
        changed since), one with replicas (each its own file), or 0 bytes.
        """
        e = self.element
        if e.get("mode") or e.get("sources") or self.job.get("src_filepath") is None:
            return None
        return int(e.get("size") or 0) or None

    def say(self, text: str) -> None:
        self.lines.append(f"{_stamp()} {text}")

    def stop(self, error: ErrorDict) -> None:
        """Cancels the element for the worker's own reason; `error` is what it reports."""
        self.override = error
        self.cancel.set()
