"""What workers report: attempt results (heartbeats are in ``heartbeats``).

A report must carry the element's current lease token; anything else is a
stale lease and is refused with 409, changing nothing. That is what makes a
worker that was presumed dead harmless when it comes back. See ``leases``
for the guards that keep that true while other transactions run.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from haul.domain.enums import JobStatus, JobType
from haul.protocol.items import refusal
from haul.protocol.results import ResultReply, result_answer
from haul.services import fused_copy
from haul.services.errors import BadRequest, Conflict, NotFound, accepted_or_raise
from haul.services.expansion import expand

# Re-exported: the routes and metrics name these reports.*.
from haul.services.heartbeats import Heartbeat as Heartbeat
from haul.services.heartbeats import heartbeat as heartbeat
from haul.services.heartbeats import heartbeats as heartbeats
from haul.services.judging import ATTEMPT_COLUMNS as ATTEMPT_COLUMNS
from haul.services.judging import ATTEMPTS as ATTEMPTS
from haul.services.judging import Result as Result
from haul.services.judging import check_text, judge, simple_success, success_attempt
from haul.services.leases import GUARD, leased, rowcount, take_leases
from haul.services.leases import Policy as Policy
from haul.services.listings import check_listing, store_listing
from haul.services.stages import after_element_change, after_results_many
from haul.store.bulk import insert_rows
from haul.store.clock import utcnow
from haul.store.element_rows import keyed_update, load_rows
from haul.store.queries.leased import guarded_update, write_leased
from haul.store.tables import Element, Job

_E = Element.__table__.c
_J = Job.__table__.c
# What judging and job bookkeeping read of a job, as a plain row: the ORM
# object is loaded only where it is written (custom results, recover
# verdicts, a LIST's expansion), which most batches never need.
_JOB_ROWS = select(
    _J.id, _J.type_name, _J.cancelled, _J.stage, _J.ended, _J.src_siteid, _J.dst_siteid
).where(_J.id.in_(bindparam("j_ids", expanding=True)))
# A plain outcome: status, one more try and attempt (transitions.on_result's
# count), the lease given back; one guarded statement for a whole job's batch.
_PLAIN = guarded_update(
    status=bindparam("v_status"),
    attempts=_E.attempts + 1,
    attempt_seq=_E.attempt_seq + 1,
    lease_token=None,
    lease_expires=None,
    timestamp=bindparam("v_now"),
)
_NUMBER = ATTEMPT_COLUMNS.index("attempt")
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


@dataclass
class Recorded:
    """What a batch of results left behind, for the route's bookkeeping."""

    rows: dict[tuple[int, int], Any] = field(default_factory=dict)  # element rows read
    jobs: dict[int, Any] = field(default_factory=dict)  # their jobs' rows (site ids among them)
    made_work: bool = False  # claimable elements may now exist (expansion, retry, stage)


def record_result(session: Session, r: Result, policy: Policy) -> JobStatus:
    """One result; refusals raise (the single-element route answers their status)."""
    return JobStatus[accepted_or_raise(record_results(session, [r], policy)[0])["status"]]


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
).where(*GUARD)


@dataclass
class _Judged:
    """An item that passed every check; it is written only if its guarded UPDATE wins."""

    index: int  # its place in the batch's answers
    r: Result
    row: Any
    job: Any  # the job's plain row (_JOB_ROWS)
    status: JobStatus
    attempt: tuple[Any, ...]  # in ATTEMPT_COLUMNS order
    upd: dict[str, Any] | None  # None: a plain outcome (status and counters only)
    entries: list[tuple[str, dict[str, Any]]] | None = None  # a LIST's checked listing
    error: dict[str, Any] | None = None


def _refused(r: Result, exc: Conflict | NotFound | BadRequest) -> ResultReply:
    return refusal(r.job_id, r.element_id, exc.status, exc.detail)


def _lost(r: Result) -> ResultReply:
    return _refused(
        r,
        Conflict(
            f"element {r.job_id}.{r.element_id}: the lease was lost while the report was "
            "recorded (it expired, or the element was steered); the report was ignored"
        ),
    )


def record_results(
    session: Session,
    results: list[Result],
    policy: Policy,
    recorded: Recorded | None = None,
) -> list[ResultReply]:
    """Many results in one transaction; each item succeeds or fails on its own.

    Every item is checked before anything is written. Then one guarded UPDATE
    per job takes the leases (``take_leases``): an item whose lease changed
    since it was read (the reaper expired it, a cancel) answers 409 and writes
    nothing. Only the winners' rows, attempts and listings are written, and
    those writes are guarded by the lease token too. Rows are read and written
    with batched Core statements, and job bookkeeping runs once per job, not
    per item: this is the server's hottest path. ``recorded``, when given,
    receives the rows that were read, elements and jobs (so metrics need not
    read them again), and whether the batch may have made claimable work.
    """
    out: list[ResultReply] = []
    if not results:
        return out
    rows = load_rows(session, [(r.job_id, r.element_id) for r in results], RESULT_COLUMNS)
    recorded = recorded if recorded is not None else Recorded()
    recorded.rows.update(rows)
    job_ids = sorted({jid for jid, _ in rows})
    conn = session.connection()
    jobs = {j.id: j for j in conn.execute(_JOB_ROWS, {"j_ids": job_ids})} if job_ids else {}
    recorded.jobs.update(jobs)
    full: dict[int, Job] = {}

    def full_job(job_id: int) -> Job:
        found = full.get(job_id)
        if found is None:
            found = full[job_id] = session.get_one(Job, job_id)
        return found
    judged: list[_Judged] = []
    now = utcnow()
    seen: set[tuple[int, int]] = set()
    for index, r in enumerate(results):
        key = (r.job_id, r.element_id)
        try:
            if key in seen:
                raise Conflict(f"element {key[0]}.{key[1]}: reported twice in one request")
            row = leased(session, r.job_id, r.element_id, r.token, rows)
            check_text(r)
            job = jobs[r.job_id]
            simple = simple_success(row, job, r)
            if simple is not None:
                # Most results: a file copied, removed or made. Nothing but
                # status, counters and lease changes, so no per-item judging.
                item = _Judged(
                    index, r, row, job, simple.status, success_attempt(simple, row, r, now), None
                )
            else:
                status, attempt, upd = judge(
                    row, job, r, policy, now, lambda jid=r.job_id: full_job(jid)
                )
                entries = None
                if status == JobStatus.DONE and row.type == JobType.LIST:
                    entries = check_listing(r.listing)
                    fused_copy.check(r)
                item = _Judged(
                    index,
                    r,
                    row,
                    job,
                    status,
                    tuple(attempt[c] for c in ATTEMPT_COLUMNS),
                    upd,
                    entries,
                    attempt["error"],
                )
        except (Conflict, NotFound, BadRequest) as exc:
            out.append(_refused(r, exc))
            continue
        seen.add(key)
        judged.append(item)
        out.append(result_answer(r.job_id, r.element_id, ""))  # its status once written
    # Plain outcomes are written by guarded UPDATEs that say which rows they
    # changed; the others first take their leases, then are written.
    won = _write_plain(session, [j for j in judged if j.upd is None], now)
    others = [j for j in judged if j.upd is not None]
    taken = take_leases(session, [(j.r.job_id, j.r.element_id, j.r.token) for j in others], now)
    _write_judged(session, [j for j in others if (j.r.job_id, j.r.element_id) in taken])
    won |= taken
    winners = [j for j in judged if (j.r.job_id, j.r.element_id) in won]
    for j in judged:
        out[j.index] = (
            result_answer(j.r.job_id, j.r.element_id, j.status.name)
            if (j.r.job_id, j.r.element_id) in won
            else _lost(j.r)
        )
    attempts = [j.attempt for j in winners]
    insert_rows(session, ATTEMPTS, ATTEMPT_COLUMNS, attempts, skip_existing=True)
    touched: dict[int, Any] = {}
    for j in winners:
        touched[j.job.id] = j.job
        if j.job.type_name is not None:
            _custom_outcome(full_job(j.job.id), j.status, j.attempt[_NUMBER], j.error, j.r)
        if j.status == JobStatus.NEW:
            recorded.made_work = True
        if j.entries is not None:
            recorded.made_work = True
            number = j.attempt[_NUMBER]
            store_listing(session, j.r.job_id, j.r.element_id, number, j.entries)
            if j.row.id == 0:
                # The listing was checked before anything was written; plan
                # from it in memory rather than read 100,000 rows back.
                planned = expand(session, j.job, j.row, number, j.entries)
                if planned == 1 and j.r.file is not None:
                    # Its one file, copied in the same lease: element 1's first attempt.
                    fused_copy.record(session, j.job, j.row, j.r, policy, now)
    plain_jobs = []
    for job_id, job in touched.items():
        # A job whose ORM object this batch loaded is advanced through it (its
        # pending changes flushed first); the others by their plain rows, together.
        orm = full.get(job_id)
        if orm is None:
            plain_jobs.append(job)
        elif after_element_change(session, orm):
            recorded.made_work = True
    if after_results_many(session, plain_jobs):
        recorded.made_work = True
    return out


def _write_plain(session: Session, items: list[_Judged], now: datetime) -> set[tuple[int, int]]:
    """Plain outcomes, one guarded ``UPDATE ... RETURNING`` per job, status and chunk.

    Returns the keys written: an element whose token or status changed since
    it was read is not matched, and its item is answered 409. Keys go in
    (job, id) order, the order every writer locks rows in.
    """
    plain: dict[tuple[int, int], list[tuple[int, str]]] = defaultdict(list)
    for j in sorted(items, key=lambda j: (j.r.job_id, j.r.element_id)):
        plain[(j.r.job_id, int(j.status))].append((j.r.element_id, j.r.token))
    won: set[tuple[int, int]] = set()
    for (job_id, status_value), keyed in plain.items():
        ids = write_leased(session, _PLAIN, job_id, keyed, {"v_status": status_value, "v_now": now})
        won.update((job_id, i) for i in ids)
    return won


def _write_judged(session: Session, taken: list[_Judged]) -> None:
    """Outcomes with their own values, for elements whose leases take_leases took."""
    updates = [
        j.upd | {"k_token": j.r.token}
        for j in sorted(taken, key=lambda j: (j.r.job_id, j.r.element_id))
        if j.upd is not None
    ]
    if not updates:
        return
    result = session.connection().execute(_RESULT_UPDATE, updates)
    if rowcount(result, len(updates)) != len(updates):
        # Cannot happen while the leases are held (see take_leases); if it
        # does, the whole batch is undone rather than half-recorded.
        raise Conflict("the leases changed while the results were recorded; send them again")


def _custom_outcome(
    job: Job, status: JobStatus, number: int, err: dict[str, Any] | None, r: Result
) -> None:
    """A custom job keeps its handler's result, and a message per failed attempt."""
    kept = dict(job.result or {})
    if status == JobStatus.DONE:
        kept["data"] = r.result
    elif err:
        kept["messages"] = [
            *kept.get("messages", []),
            f"attempt {number}: {err['code']}: {err['message']}",
        ][-50:]
    job.result = kept
