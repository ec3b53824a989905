"""Judging one attempt's result: its outcome, the attempt row and the element's new state.

Pure checks and arithmetic on rows already read: nothing here writes, so a
result that fails a check (an invalid listing, text no database can store)
is refused on its own before anything of its batch is written (see
``reports.record_results``). Its error report was parsed with the rest of
the result, by the route (``protocol.error_report.ErrorReport``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from haul.domain.backoff import backoff_seconds
from haul.domain.enums import JobStatus, JobType
from haul.domain.errors import ErrorCode
from haul.domain.logs import cap_log
from haul.domain.transitions import (
    Ended,
    NotBefore,
    cancelling,
    on_check,
    on_result,
    on_success,
)
from haul.protocol.error_report import NO_DETAILS, ErrorDict, ErrorReport
from haul.services.errors import BadRequest
from haul.services.leases import Policy
from haul.services.recover import record_check
from haul.store.queries.results import Outcome
from haul.store.tables import Attempt, Job

ATTEMPTS = Attempt.__table__
ATTEMPT_COLUMNS = (
    "job_id",
    "element_id",
    "attempt",
    "status",
    "returncode",
    "host",
    "log",
    "error",
    "bytes",
    "checksum",
    "started",
    "ended",
)
_NUMBER = ATTEMPT_COLUMNS.index("attempt")


@dataclass
class Result:
    job_id: int
    element_id: int
    token: str
    returncode: int
    host: str = ""
    log: str = ""
    timestamp: str | None = None
    listing: Any = None
    error: ErrorReport | None = None  # parsed by the route (protocol.error_report)
    checksum: str | None = None
    bytes: int | None = None
    size: int | None = None
    verdict: dict[str, Any] | None = None  # a recover check's {same, reason}
    result: Any = None  # a custom job type's JSON result
    # A LIST's nested result: its one file copied in the same lease (fused_copy.py).
    file: Result | None = None


def check_text(r: Result) -> None:
    """Refuses text no database can store; a log is kept, with such characters replaced."""
    for name in ("host", "checksum"):
        value = getattr(r, name)
        if value and ("\x00" in value or not _encodable(value)):
            raise BadRequest(f"{name}: must be valid Unicode text without NUL characters")
    if r.log and ("\x00" in r.log or not _encodable(r.log)):
        r.log = r.log.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def simple_success(row: Any, job: Any, r: Result) -> Ended | None:
    """A success that judge would write as a plain DONE, without judging it item by item."""
    if (
        r.returncode != 0
        or row.type == JobType.LIST
        or job.type_name is not None
        or r.checksum
        or not (r.size is None or r.size < 0 or r.size == row.size)
    ):
        return None
    ended = on_success(row.attempts, row.attempt_seq, row.mode)
    return ended if ended.plain else None


def success_attempt(ended: Ended, row: Any, r: Result, now: datetime) -> tuple[Any, ...]:
    """The attempt row judge would build for a simple success, in ATTEMPT_COLUMNS order."""
    return (
        r.job_id,
        r.element_id,
        ended.attempt_seq,
        int(ended.attempt_status),
        0,
        r.host[:255],
        cap_log(r.log or ""),
        None,
        r.bytes,
        r.checksum,
        row.started,
        now,
    )


def _ended(row: Any, job: Any, r: Result, error: ErrorDict | None) -> Ended:
    return on_result(
        attempts=row.attempts,
        attempt_seq=row.attempt_seq,
        max_tries=row.max_tries,
        mode=row.mode,
        cancelling=cancelling(job.cancelled, row.command),
        succeeded=r.returncode == 0,
        cancelled=error is not None and error["code"] == ErrorCode.CANCELLED.value,
        retryable=error is None or error["retryable"],
    )


def judge(
    row: Any, job: Any, r: Result, policy: Policy, now: datetime, full_job: Callable[[], Job]
) -> tuple[JobStatus, dict[str, Any], Outcome | None]:
    """Decides an attempt's outcome (by ``domain.transitions``) and what to write.

    ``job`` is the job's row (``cancelled``, ``type_name``); ``full_job``
    gives its ORM object, for a recover check that records its verdict there.

    Returns the element's new status, its attempt row, and the element's new
    values (``store.queries.results.Outcome``), or None for a plain outcome:
    only status and counters change, which ``reports`` writes with one UPDATE
    per job and status rather than one parameter set per element. Raises
    BadRequest before anything is written.
    """
    if r.returncode == 0 and row.type == JobType.LIST and r.listing is None:
        raise BadRequest("listing: a successful LIST result needs its listing")
    error = None if r.returncode == 0 else (r.error or NO_DETAILS).as_dict()
    ended = _ended(row, job, r, error)
    if ended.check:
        verdict = r.verdict or {"same": False, "reason": "no verdict"}
        ended = on_check(ended, repair=record_check(full_job(), row, verdict))
    status = ended.status
    if ended.not_before is NotBefore.BACKOFF:
        delay = backoff_seconds(ended.attempts, policy.backoff_base, policy.backoff_cap, policy.rng)
        not_before = now + timedelta(seconds=delay)
    else:
        not_before = row.not_before if ended.not_before is NotBefore.KEEP else None
    attempt = {
        "job_id": r.job_id,
        "element_id": r.element_id,
        "attempt": ended.attempt_seq,
        "status": int(ended.attempt_status),
        "returncode": r.returncode,
        "host": r.host[:255],
        "log": cap_log(r.log or ""),
        "error": error,
        "bytes": r.bytes,
        "checksum": r.checksum,
        "started": row.started,
        "ended": now,
    }
    outcome = Outcome(
        job_id=r.job_id,
        element_id=r.element_id,
        status=int(status),
        attempts=ended.attempts,
        attempt_seq=ended.attempt_seq,
        now=now,
        checksum=r.checksum[:200] if r.checksum else row.checksum,
        size=r.size if r.size is not None and r.size >= 0 else row.size,
        not_before=not_before,
        mode=ended.mode,
    )
    plain = ended.plain and outcome.checksum == row.checksum and outcome.size == row.size
    return status, attempt, None if plain else outcome
