"""A job's status follows from its elements' counts, by one pure function.

Keeping this the only place that decides means the list, detail, status and
dashboard views can never disagree, and a job is never reported finished
while an element can still run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from haul.domain.enums import LEASED, JobStatus

# enums.LEASED as statuses, for the counts keyed by JobStatus.
LEASED_STATUSES = frozenset(JobStatus(s) for s in LEASED)


def job_status(
    counts: Mapping[JobStatus, int], *, cancelled: bool = False, paused: bool = False
) -> JobStatus:
    total = sum(counts.values())
    done = counts.get(JobStatus.DONE, 0)
    failed = counts.get(JobStatus.FAILED, 0)
    cancelled_n = counts.get(JobStatus.CANCELLED, 0)
    running = counts.get(JobStatus.RUNNING, 0)
    submitted = counts.get(JobStatus.SUBMITTED, 0)
    new = counts.get(JobStatus.NEW, 0)
    # A paused element can still run (once resumed), so it keeps the job unfinished.
    paused_n = counts.get(JobStatus.PAUSED, 0)
    active = running + submitted + new + paused_n

    if total == 0:
        return JobStatus.CANCELLED if cancelled else JobStatus.NEW
    if active == 0:
        # A cancelled job reports CANCELLED even when what ran did finish: the
        # user stopped it, and its LIST may have finished without the copies.
        if cancelled:
            return JobStatus.CANCELLED
        if done == total:
            return JobStatus.DONE
        # By completeness: any failure makes the job FAILED (the counts tell how
        # partial); otherwise some elements were cancelled (killed, finished early).
        return JobStatus.FAILED if failed else JobStatus.CANCELLED
    if paused or (paused_n and not (running or submitted or new)):
        return JobStatus.PAUSED
    if running:
        return JobStatus.RUNNING
    if submitted:
        # Leased elements after some finished: the job is moving. Elements that
        # take less than a heartbeat go from leased to done without ever being
        # seen RUNNING, so waiting for a RUNNING one would show a job at 43%
        # as SUBMITTED.
        return JobStatus.RUNNING if (done or failed or cancelled_n) else JobStatus.SUBMITTED
    # Only NEW elements left: SUBMITTED once the job has made any progress.
    return JobStatus.SUBMITTED if (done or failed or cancelled_n) else JobStatus.NEW


def attempts_shown(status: int, attempts: int) -> int:
    """Tries of an element including the one under way: a leased element is being tried.

    ``attempts`` in the store counts finished tries; showing ``0 of 2`` for an
    element a worker is copying read as if nothing had started.
    """
    return attempts + 1 if status in LEASED_STATUSES else attempts


@dataclass(frozen=True)
class FileTally:
    """A job's files: its elements of the job's own type, without the LIST that expands it.

    pdm's counters (``num_elements``, ``num_done``...) count every element,
    the expanding LIST of a COPY, REMOVE or RENAME included, so 30 copied
    files read as 31 elements; these count what the user asked to move. A
    REMOVE's files include the directories it removes. Bytes are a COPY's:
    the sizes its listing found, and of those the bytes of finished files
    plus what running ones reported so far (None for other types).
    """

    num_files: int = 0
    files_done: int = 0
    files_failed: int = 0
    bytes_total: int | None = None
    bytes_done: int | None = None
    started: datetime | None = None  # when its first file was leased

    def rate(self, now: datetime, ended: datetime | None) -> float | None:
        """Bytes per second since the first file started (to the end, once ended).

        An average over the job, not the last beats' instant rates: small files
        finish between heartbeats and would show no rate at all.
        """
        if not self.bytes_done or self.started is None:
            return None
        seconds = ((ended or now) - self.started).total_seconds()
        return self.bytes_done / seconds if seconds > 0 else None

    def eta_seconds(self, now: datetime, ended: datetime | None) -> float | None:
        """Seconds left at the average rate, where the size is known and work remains."""
        rate = self.rate(now, ended)
        if ended is not None or not rate or self.bytes_total is None or self.bytes_done is None:
            return None
        return max(self.bytes_total - self.bytes_done, 0) / rate


class ElementCounts(dict[JobStatus, int]):
    """Elements by status (pdm's counters), carrying the job's FileTally beside them."""

    files: FileTally = FileTally()
