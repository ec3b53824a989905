"""A one-file COPY copied in its LIST's lease (issue 13: many one-file jobs).

A path COPY lists its source first (element 0, seed 000), and the expansion
adds element 1, the file. Claimed and reported on its own, that file costs a
second claim and a second report: for N one-file jobs, half the server's
work. So the claim offers the worker (``fuse_copy`` on element 0's lease)
to copy the file within the LIST's lease when the LIST finds a single small
file, and the worker reports the copy's result nested in the LIST's
(``file``). Here that result becomes element 1's first attempt, judged as
any result is (``judging.judge``), so element 1 ends as it would have: the
same status, counters, attempt row and retries.

The offer is made only where the claim would have handed out the copy
itself: the worker asked for COPY elements and the COPY type is neither
paused nor at its ``max_scheduled``. Bans and paused jobs stop the LIST's
claim already. A result the expansion does not match (the job was cancelled
or expanded already, or the listing is not one COPY) is dropped: element 1
then runs as before, or not at all.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import JobStatus, JobType
from haul.services.job_types import blocked_types
from haul.services.judging import ATTEMPT_COLUMNS, ATTEMPTS, Result, check_text, judge
from haul.services.leases import Policy
from haul.store.bulk import insert_rows
from haul.store.queries import fused_copy as queries
from haul.store.queries.fused_copy import FILE_ID
from haul.store.queries.results import Outcome
from haul.store.tables import Job

OFFER = "fuse_copy"  # the lease element's flag: "you may copy the file in this lease"
_COPY = int(JobType.COPY)


def offer(session: Session, leases: list[dict[str, Any]], types: list[int]) -> None:
    """Marks the LISTs of path COPYs whose file this claim could have leased too."""
    lists = [
        e
        for job in leases
        if job["type"] == JobType.COPY.name
        for e in job["elements"]
        if e["id"] == 0 and e["type"] == JobType.LIST.name
    ]
    if not lists or _COPY not in types:
        return
    paused, room = blocked_types(session)
    if _COPY in paused or room.get(_COPY, 1) <= 0:
        return
    for e in lists:
        e[OFFER] = True


def check(r: Result) -> None:
    """Refuses a malformed nested result before anything of the batch is written."""
    if r.file is None:
        return
    check_text(r.file)  # its error, if any, was parsed by the route (protocol.error_report)


def record_many(
    session: Session, files: list[tuple[Any, Any, Result]], policy: Policy, now: datetime
) -> None:
    """Writes element 1's first attempt from each LIST's nested result.

    ``files``: (job, LIST row, LIST result) of LISTs whose expansion planned
    one element; ``job`` the job's plain row (``id``, ``cancelled``,
    ``type_name``). Called after the expansions; a job whose element 1 is
    not the one COPY the worker copied is left as the expansion planned it.
    Reads, writes and attempt rows for all of them together.
    """
    files = [f for f in files if f[2].file is not None]
    if not files:
        return
    planned_of = queries.planned_files(session, [job.id for job, _, _ in files])
    outcomes: list[tuple[Outcome, int | None, Any]] = []
    attempts: list[tuple[Any, ...]] = []
    for job, list_row, r in files:
        planned, worker_id = planned_of[job.id]
        if (
            planned is None
            or planned.type != _COPY
            or planned.status != JobStatus.NEW
            or planned.attempt_seq != 0
        ):
            continue
        outcome, attempt = _judged(session, job, list_row, r, planned, policy, now)
        # Element 1 was leased when its LIST was, to the worker that ran both.
        outcomes.append((outcome, worker_id, list_row.started))
        attempts.append(tuple(attempt[c] for c in ATTEMPT_COLUMNS))
    queries.write_files(session, outcomes)
    insert_rows(session, ATTEMPTS, ATTEMPT_COLUMNS, attempts)


def _judged(
    session: Session,
    job: Any,
    list_row: Any,
    r: Result,
    planned: Any,
    policy: Policy,
    now: datetime,
) -> tuple[Outcome, dict[str, Any]]:
    """Element 1's outcome and attempt row, judged from the nested result."""
    fr = r.file
    assert fr is not None
    row = SimpleNamespace(**{**planned._asdict(), "started": list_row.started})  # its lease's start
    sub = Result(
        job_id=job.id,
        element_id=FILE_ID,
        token=r.token,
        returncode=fr.returncode,
        host=fr.host,
        log=fr.log,
        error=fr.error,
        checksum=fr.checksum,
        bytes=fr.bytes,
        size=fr.size,
    )
    status, attempt, outcome = judge(
        row, job, sub, policy, now, lambda: session.get_one(Job, job.id)
    )
    if outcome is None:  # a plain outcome, whose counters judge leaves to the caller
        outcome = Outcome(
            job_id=job.id,
            element_id=FILE_ID,
            status=int(status),
            attempts=planned.attempts + 1,
            attempt_seq=attempt["attempt"],
            now=now,
            checksum=planned.checksum,
            size=planned.size,
            not_before=planned.not_before,
            mode=planned.mode,
        )
    return outcome, attempt
