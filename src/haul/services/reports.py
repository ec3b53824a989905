"""What workers report: heartbeats (progress, commands) and attempt results.

A report must carry the element's current lease token; anything else is a
stale lease and is refused with 409, changing nothing. That is what makes a
worker that was presumed dead harmless when it comes back.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from haul.domain.backoff import backoff_seconds
from haul.domain.enums import JobStatus, JobType
from haul.domain.errors import ErrorCode, ErrorScope
from haul.domain.logs import cap_log
from haul.services.errors import BadRequest, Conflict, NotFound
from haul.services.expansion import expand
from haul.services.listings import parse_listing, store_listing
from haul.services.recover import record_check
from haul.store.bulk import insert_rows
from haul.store.clock import utcnow
from haul.store.element_rows import CHUNK, ELEMENTS, keyed_update, load_rows
from haul.store.tables import Attempt, Element, Job

LEASED = (int(JobStatus.SUBMITTED), int(JobStatus.RUNNING))
_E = Element.__table__.c
# What judging a result reads: everything but the progress JSON and lease bookkeeping.
RESULT_COLUMNS = (
    _E.status,
    _E.lease_token,
    _E.type,
    _E.attempts,
    _E.attempt_seq,
    _E.max_tries,
    _E.command,
    _E.not_before,
    _E.mode,
    _E.started,
    _E.checksum,
    _E.size,
    _E.src_filepath,
    _E.dst_filepath,
)
BEAT_COLUMNS = (_E.status, _E.lease_token, _E.command)
_ATTEMPTS = Attempt.__table__
_ATTEMPT_COLUMNS = (
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


@dataclass
class Heartbeat:
    job_id: int
    element_id: int
    token: str
    transferred: int = 0
    elapsed: float = 0.0
    instant: float = 0.0
    average: float = 0.0


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
    error: dict[str, Any] | None = None
    checksum: str | None = None
    bytes: int | None = None
    size: int | None = None
    verdict: dict[str, Any] | None = None  # a recover check's {same, reason}
    result: Any = None  # a custom job type's JSON result


@dataclass
class Recorded:
    """What a batch of results left behind, for the route's bookkeeping."""

    rows: dict[tuple[int, int], Any] = field(default_factory=dict)  # element rows read
    made_work: bool = False  # claimable elements may now exist (expansion, retry, stage)


@dataclass
class Policy:
    lease_seconds: int = 120
    backoff_base: float = 2.0
    backoff_cap: float = 600.0
    rng: random.Random = field(default_factory=random.Random)


def _leased(
    session: Session,
    job_id: int,
    element_id: int,
    token: str,
    loaded: dict[tuple[int, int], Any],
) -> Any:
    element = loaded.get((job_id, element_id))
    if element is None:
        raise NotFound(f"job {job_id} has no element {element_id}")
    if element.lease_token != token or element.status not in LEASED:
        raise Conflict(
            f"element {job_id}.{element_id}: lease is not current (status "
            f"{JobStatus(element.status).name}); the report was ignored"
        )
    return element


def heartbeat(session: Session, hb: Heartbeat, policy: Policy) -> dict[str, Any]:
    answer = heartbeats(session, [hb], policy)[0]
    if answer["code"] != 200:
        raise (NotFound if answer["code"] == 404 else Conflict)(answer["detail"])
    return {k: v for k, v in answer.items() if k != "code"}


def heartbeats(session: Session, beats: list[Heartbeat], policy: Policy) -> list[dict[str, Any]]:
    """Marks elements RUNNING, stores progress, extends leases, hands out commands."""
    if not beats:
        return []
    rows = load_rows(session, [(hb.job_id, hb.element_id) for hb in beats], BEAT_COLUMNS)
    cancelled = set(
        session.scalars(
            select(Job.id).where(Job.id.in_({j for j, _ in rows}), Job.cancelled.is_(True))
        )
    )
    now = utcnow()
    expires = now + timedelta(seconds=policy.lease_seconds)
    out: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for hb in beats:
        try:
            row = _leased(session, hb.job_id, hb.element_id, hb.token, rows)
        except (Conflict, NotFound) as exc:
            out.append(
                {
                    "jobid": hb.job_id,
                    "elementid": hb.element_id,
                    "code": exc.status,
                    "detail": exc.detail,
                }
            )
            continue
        command = row.command
        keep = command if command == "cancel" else None  # a user's command is delivered once
        if hb.job_id in cancelled:
            command = "cancel"
        updates.append(
            {
                "k_job": hb.job_id,
                "k_id": hb.element_id,
                "v_expires": expires,
                "v_command": keep,
                "v_progress": {
                    "transferred": hb.transferred,
                    "elapsed": hb.elapsed,
                    "instant": hb.instant,
                    "average": hb.average,
                    "time": now.isoformat(),
                },
            }
        )
        out.append(
            {
                "jobid": hb.job_id,
                "elementid": hb.element_id,
                "code": 200,
                "command": command,
                "lease_expires": expires.isoformat(),
            }
        )
    if updates:
        session.execute(_BEAT_UPDATE, updates, execution_options={"synchronize_session": False})
    return out


def _error_dict(err: Any) -> dict[str, Any]:
    if err is None:
        return {
            "code": ErrorCode.INTERNAL.value,
            "scope": ErrorScope.TRANSFER.value,
            "retryable": True,
            "message": "the worker reported a failure without details",
        }
    if not isinstance(err, dict):
        raise BadRequest("error: must be an object {code, scope, retryable, message}")
    code = str(err.get("code") or ErrorCode.INTERNAL.value).upper()
    scope = str(err.get("scope") or ErrorScope.TRANSFER.value).upper()
    if scope not in ErrorScope.__members__:
        raise BadRequest("error.scope: expected SOURCE, DESTINATION or TRANSFER")
    retryable = err.get("retryable", True)
    if not isinstance(retryable, bool):
        raise BadRequest("error.retryable: must be a boolean")
    return {
        "code": code,
        "scope": scope,
        "retryable": retryable,
        "message": str(err.get("message") or "")[:4000],
    }


def record_result(session: Session, r: Result, policy: Policy) -> JobStatus:
    """One result; refusals raise (the single-element route answers their status)."""
    answer = record_results(session, [r], policy)[0]
    if answer["code"] != 200:
        raise {400: BadRequest, 404: NotFound}.get(answer["code"], Conflict)(answer["detail"])
    return JobStatus[answer["status"]]


_RESULT_UPDATE = keyed_update(
    status=bindparam("v_status"),
    attempts=bindparam("v_attempts"),
    attempt_seq=bindparam("v_seq"),
    lease_token=None,
    lease_expires=None,
    timestamp=bindparam("v_now"),
    checksum=bindparam("v_checksum"),
    size=bindparam("v_size"),
    not_before=bindparam("v_not_before"),
    mode=bindparam("v_mode"),
)


_BEAT_UPDATE = keyed_update(
    status=int(JobStatus.RUNNING),
    lease_expires=bindparam("v_expires"),
    command=bindparam("v_command"),
    progress=bindparam("v_progress"),
)


def record_results(
    session: Session,
    results: list[Result],
    policy: Policy,
    recorded: Recorded | None = None,
) -> list[dict[str, Any]]:
    """Many results in one transaction; each item succeeds or fails on its own.

    A refused item has changed nothing (every check runs before any write), so
    no savepoints are needed. Rows are read and written with batched Core
    statements, and job bookkeeping runs once per job, not per item: this is
    the server's hottest path. ``recorded``, when given, receives the rows
    that were read (so metrics need not read them again) and whether the
    batch may have made claimable work.
    """
    out: list[dict[str, Any]] = []
    if not results:
        return out
    rows = load_rows(session, [(r.job_id, r.element_id) for r in results], RESULT_COLUMNS)
    recorded = recorded if recorded is not None else Recorded()
    recorded.rows.update(rows)
    job_ids = {jid for jid, _ in rows}
    jobs = {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(job_ids)))}
    attempts: list[tuple[Any, ...]] = []  # rows in _ATTEMPT_COLUMNS order
    updates: list[dict[str, Any]] = []
    plain: dict[tuple[int, int], list[int]] = defaultdict(list)  # (job, status) -> ids
    done = int(JobStatus.DONE)
    lists: list[tuple[Result, Any, int]] = []
    touched: dict[int, Job] = {}
    now = utcnow()
    seen: set[tuple[int, int]] = set()
    for r in results:
        key = (r.job_id, r.element_id)
        try:
            if key in seen:
                raise Conflict(f"element {key[0]}.{key[1]}: reported twice in one request")
            row = _leased(session, r.job_id, r.element_id, r.token, rows)
            job = jobs[r.job_id]
            if _is_simple_success(row, job, r):
                # Most results: a file copied, removed or made. Nothing but
                # status, counters and lease changes, so no per-item judging.
                seen.add(key)
                attempts.append(_success_attempt(row, r, now))
                plain[(r.job_id, done)].append(r.element_id)
                touched[job.id] = job
                out.append(
                    {"jobid": r.job_id, "elementid": r.element_id, "code": 200, "status": "DONE"}
                )
                continue
            status, attempt, upd = _judge(row, job, r, policy, now)
        except (Conflict, NotFound, BadRequest) as exc:
            out.append(
                {
                    "jobid": r.job_id,
                    "elementid": r.element_id,
                    "code": exc.status,
                    "detail": exc.detail,
                }
            )
            continue
        seen.add(key)
        attempts.append(tuple(attempt[c] for c in _ATTEMPT_COLUMNS))
        if _is_plain(row, upd):
            plain[(r.job_id, upd["v_status"])].append(r.element_id)
        else:
            updates.append(upd)
        touched[job.id] = job
        if status == JobStatus.DONE and row.type == JobType.LIST:
            lists.append((r, row, attempt["attempt"]))
        if status == JobStatus.NEW or (status == JobStatus.DONE and row.type == JobType.LIST):
            recorded.made_work = True
        if job.type_name is not None:
            _custom_outcome(job, status, attempt, r)
        out.append(
            {"jobid": r.job_id, "elementid": r.element_id, "code": 200, "status": status.name}
        )
    if updates:
        session.execute(_RESULT_UPDATE, updates, execution_options={"synchronize_session": False})
    for (job_id, status_value), ids in plain.items():
        for start in range(0, len(ids), CHUNK):
            session.execute(
                update(ELEMENTS)
                .where(_E.job_id == job_id, _E.id.in_(ids[start : start + CHUNK]))
                .values(_plain_values(status_value, now))
            )
    insert_rows(session, _ATTEMPTS, _ATTEMPT_COLUMNS, attempts)
    for r, row, number in lists:
        store_listing(session, r.job_id, r.element_id, number, r.listing)
        if row.id == 0:
            # The listing was checked as it was stored; plan from it in memory
            # rather than read 100,000 rows back.
            expand(session, jobs[r.job_id], row, number, parse_listing(r.listing))
    for job in touched.values():
        if after_element_change(session, job):
            recorded.made_work = True
    return out


def _is_simple_success(row: Any, job: Job, r: Result) -> bool:
    """A success that _judge would turn into a plain DONE (see _is_plain)."""
    return (
        r.returncode == 0
        and row.mode is None
        and row.type != JobType.LIST
        and job.type_name is None
        and not r.checksum
        and (r.size is None or r.size < 0 or r.size == row.size)
    )


def _success_attempt(row: Any, r: Result, now: datetime) -> tuple[Any, ...]:
    """The attempt row _judge would build for a simple success, in _ATTEMPT_COLUMNS order."""
    return (
        r.job_id,
        r.element_id,
        row.attempt_seq + 1,
        int(JobStatus.DONE),
        0,
        r.host[:255],
        cap_log(r.log or ""),
        None,
        r.bytes,
        r.checksum,
        row.started,
        now,
    )


def _is_plain(row: Any, upd: dict[str, Any]) -> bool:
    """An outcome that changes nothing but status, counters and lease (most of them).

    Those are written with one ``UPDATE ... WHERE id IN (...)`` per job and
    status rather than one parameter set per element.
    """
    return (
        upd["v_checksum"] == row.checksum
        and upd["v_size"] == row.size
        and upd["v_not_before"] == row.not_before
        and upd["v_mode"] == row.mode
        and upd["v_attempts"] == row.attempts + 1
        and upd["v_seq"] == row.attempt_seq + 1
    )


def _plain_values(status: int, now: datetime) -> dict[str, Any]:
    return {
        "status": status,
        "attempts": _E.attempts + 1,
        "attempt_seq": _E.attempt_seq + 1,
        "lease_token": None,
        "lease_expires": None,
        "timestamp": now,
    }


def _custom_outcome(job: Job, status: JobStatus, attempt: dict[str, Any], r: Result) -> None:
    """A custom job keeps its handler's result, and a message per failed attempt."""
    kept = dict(job.result or {})
    if status == JobStatus.DONE:
        kept["data"] = r.result
    elif attempt["error"]:
        err = attempt["error"]
        kept["messages"] = [
            *kept.get("messages", []),
            f"attempt {attempt['attempt']}: {err['code']}: {err['message']}",
        ][-50:]
    job.result = kept


def _judge(
    row: Any, job: Job, r: Result, policy: Policy, now: datetime
) -> tuple[JobStatus, dict[str, Any], dict[str, Any]]:
    """Decides an attempt's outcome; raises BadRequest before anything is written."""
    if r.returncode == 0 and row.type == JobType.LIST and r.listing is None:
        raise BadRequest("listing: a successful LIST result needs its listing")
    tries = row.attempts + 1
    number = row.attempt_seq + 1
    error = None if r.returncode == 0 else _error_dict(r.error)
    if r.returncode == 0:
        status = JobStatus.DONE
    elif (
        job.cancelled
        or row.command == "cancel"
        or (error and error["code"] == ErrorCode.CANCELLED.value)
    ):
        status = JobStatus.CANCELLED
    elif error and error["retryable"] and tries < row.max_tries:
        status = JobStatus.NEW
    else:
        status = JobStatus.FAILED
    not_before = row.not_before
    mode = row.mode
    if row.mode == "verify" and status == JobStatus.DONE:
        mode = record_check(job, row, r.verdict or {"same": False, "reason": "no verdict"})
        if mode == "overwrite":
            status, tries, not_before = JobStatus.NEW, 0, None  # re-copy at once
    elif row.mode == "overwrite" and status == JobStatus.DONE:
        mode = None
    elif status == JobStatus.NEW:
        delay = backoff_seconds(tries, policy.backoff_base, policy.backoff_cap, policy.rng)
        not_before = now + timedelta(seconds=delay)
    attempt = {
        "job_id": r.job_id,
        "element_id": r.element_id,
        "attempt": number,
        "status": int(status if status != JobStatus.NEW else JobStatus.FAILED),
        "returncode": r.returncode,
        "host": r.host[:255],
        "log": cap_log(r.log or ""),
        "error": error,
        "bytes": r.bytes,
        "checksum": r.checksum,
        "started": row.started,
        "ended": now,
    }
    upd = {
        "k_job": r.job_id,
        "k_id": r.element_id,
        "v_status": int(status),
        "v_attempts": tries,
        "v_seq": number,
        "v_now": now,
        "v_checksum": r.checksum[:200] if r.checksum else row.checksum,
        "v_size": r.size if r.size is not None and r.size >= 0 else row.size,
        "v_not_before": not_before,
        "v_mode": mode,
    }
    return status, attempt, upd


def lose_expired(session: Session, policy: Policy, limit: int = 1000) -> int:
    """Leases that expired without a result become failed attempts coded LOST."""
    now = utcnow()
    rows = list(
        session.scalars(
            select(Element)
            .where(Element.status.in_(LEASED), Element.lease_expires < now)
            .limit(limit)
        )
    )
    jobs: dict[int, Job] = {}
    for element in rows:
        tries = element.attempts + 1
        number = element.attempt_seq + 1
        retry = tries < element.max_tries
        job = jobs.get(element.job_id) or session.get(Job, element.job_id)
        assert job is not None
        jobs[job.id] = job
        final = (
            JobStatus.CANCELLED
            if job.cancelled or element.command == "cancel"
            else (JobStatus.NEW if retry else JobStatus.FAILED)
        )
        session.add(
            Attempt(
                job_id=element.job_id,
                element_id=element.id,
                attempt=number,
                status=int(JobStatus.FAILED),
                returncode=None,
                host="",
                log="lease expired without a result from the worker",
                error={
                    "code": ErrorCode.LOST.value,
                    "scope": ErrorScope.TRANSFER.value,
                    "retryable": True,
                    "message": "the worker holding the lease stopped reporting",
                },
                started=element.started,
                ended=now,
            )
        )
        element.attempts = tries
        element.attempt_seq = number
        element.status = int(final)
        element.lease_token = None
        element.lease_expires = None
        element.timestamp = now
        if final == JobStatus.NEW:
            delay = backoff_seconds(tries, policy.backoff_base, policy.backoff_cap, policy.rng)
            element.not_before = now + timedelta(seconds=delay)
    session.flush()
    for job in jobs.values():
        after_element_change(session, job)
    return len(rows)


ACTIVE = [int(JobStatus.NEW), int(JobStatus.SUBMITTED), int(JobStatus.RUNNING)]


def after_element_change(session: Session, job: Job) -> bool:
    """Advances the job's stage when the current one has drained; stamps its end.

    Returns whether a later stage's elements became claimable.

    Runs after every batch of results, so the common case (the current stage
    still has work) is one indexed probe, not a scan of the job's elements.
    """
    busy = session.scalar(
        select(Element.id)
        .where(Element.job_id == job.id, Element.status.in_(ACTIVE), Element.stage == job.stage)
        .limit(1)
    )
    if busy is not None:
        job.ended = None
        return False
    later = session.scalar(
        select(func.min(Element.stage)).where(Element.job_id == job.id, Element.status.in_(ACTIVE))
    )
    if later is None:
        if job.ended is None:
            job.ended = utcnow()
        return False
    job.ended = None
    if later > job.stage:
        job.stage = later
        return True
    return False
