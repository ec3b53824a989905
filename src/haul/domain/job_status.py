"""A job's status follows from its elements' counts, by one pure function.

Keeping this the only place that decides means the list, detail, status and
dashboard views can never disagree, and a job is never reported finished
while an element can still run.
"""

from __future__ import annotations

from collections.abc import Mapping

from haul.domain.enums import JobStatus


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
        return JobStatus.SUBMITTED
    # Only NEW elements left: SUBMITTED once the job has made any progress.
    return JobStatus.SUBMITTED if (done or failed or cancelled_n) else JobStatus.NEW
