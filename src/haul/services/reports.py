"""What workers report: attempt results (heartbeats are in ``heartbeats``).

A report must carry the element's current lease token; anything else is a
stale lease and is refused with 409, changing nothing. That is what makes a
worker that was presumed dead harmless when it comes back. See ``leases``
for the guards that keep that true while other transactions run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haul.domain.enums import JobStatus, JobType
from haul.protocol.items import refusal
from haul.protocol.results import ResultReply, result_answer
from haul.services import fused_copy
from haul.services.errors import BadRequest, Conflict, NotFound, accepted_or_raise
from haul.services.expansion import expand_many

# Re-exported: the routes and metrics name these reports.*.
from haul.services.heartbeats import Heartbeat as Heartbeat
from haul.services.heartbeats import heartbeat as heartbeat
from haul.services.heartbeats import heartbeats as heartbeats
from haul.services.judging import ATTEMPT_COLUMNS as ATTEMPT_COLUMNS
from haul.services.judging import ATTEMPTS as ATTEMPTS
from haul.services.judging import Result as Result
from haul.services.judging import check_text, judge, simple_success, success_attempt
from haul.services.leases import Policy as Policy
from haul.services.leases import leased
from haul.services.listings import check_listing, store_listings
from haul.services.stages import after_element_change, after_results_many
from haul.store.bulk import insert_rows
from haul.store.clock import utcnow
from haul.store.dialect import in_values
from haul.store.keyed_elements import load_rows
from haul.store.queries import results as writes
from haul.store.tables import Element, Job

_E = Element.__table__.c
_J = Job.__table__.c
# What judging and job bookkeeping read of a job, as a plain row: the ORM
# object is loaded only where it is written (custom results, recover
# verdicts, a LIST's expansion), which most batches never need.
_JOB_ROWS = select(
    _J.id, _J.type_name, _J.cancelled, _J.stage, _J.ended, _J.src_siteid, _J.dst_siteid
).where(in_values(_J.id, "j_ids"))
_NUMBER = ATTEMPT_COLUMNS.index("attempt")


@dataclass
class Recorded:
    """What a batch of results left behind, for the route's bookkeeping."""

    rows: dict[tuple[int, int], Any] = field(default_factory=dict)  # element rows read
    jobs: dict[int, Any] = field(default_factory=dict)  # their jobs' rows (site ids among them)
    made_work: bool = False  # claimable elements may now exist (expansion, retry, stage)


def record_result(session: Session, r: Result, policy: Policy) -> JobStatus:
    """One result; refusals raise (the single-element route answers their status)."""
    return JobStatus[accepted_or_raise(record_results(session, [r], policy)[0])["status"]]


@dataclass(slots=True)
class _Judged:
    """An item that passed every check; it is written only if its guarded UPDATE wins."""

    index: int  # its place in the batch's answers
    key: tuple[int, int]  # (job, element)
    r: Result
    row: Any
    job: Any  # the job's plain row (_JOB_ROWS)
    status: JobStatus
    attempt: tuple[Any, ...]  # in ATTEMPT_COLUMNS order
    outcome: writes.Outcome | None  # None: a plain outcome (status and counters only)
    entries: list[tuple[str, dict[str, Any]]] | None = None  # a LIST's checked listing
    error: dict[str, Any] | None = None


@dataclass
class _Batch:
    """What a batch read once, for every step: element rows, their jobs, the time."""

    session: Session
    policy: Policy
    rows: dict[tuple[int, int], Any]
    jobs: dict[int, Any]  # plain rows (_JOB_ROWS)
    now: datetime
    full: dict[int, Job] = field(default_factory=dict)  # ORM jobs, loaded where written

    def full_job(self, job_id: int) -> Job:
        found = self.full.get(job_id)
        if found is None:
            found = self.full[job_id] = self.session.get_one(Job, job_id)
        return found


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
    if not results:
        return []
    recorded = recorded if recorded is not None else Recorded()
    batch = _read(session, results, policy, recorded)
    out, judged = _judge_all(batch, results)
    won = _write(batch, judged)
    for j in judged:
        out[j.index] = (
            result_answer(j.r.job_id, j.r.element_id, j.status.name) if j.key in won else _lost(j.r)
        )
    winners = [j for j in judged if j.key in won]
    _record_won(batch, winners, recorded)
    _advance_jobs(batch, winners, recorded)
    return out


def _read(session: Session, results: list[Result], policy: Policy, recorded: Recorded) -> _Batch:
    """The batch's element rows and their jobs' plain rows: two reads for the lot."""
    rows = load_rows(session, [(r.job_id, r.element_id) for r in results], writes.RESULT_COLUMNS)
    recorded.rows.update(rows)
    job_ids = sorted({jid for jid, _ in rows})
    conn = session.connection()
    jobs = {j.id: j for j in conn.execute(_JOB_ROWS, {"j_ids": job_ids})} if job_ids else {}
    recorded.jobs.update(jobs)
    return _Batch(session, policy, rows, jobs, utcnow())


def _judge_all(batch: _Batch, results: list[Result]) -> tuple[list[ResultReply], list[_Judged]]:
    """Every item checked and judged, nothing written: the answers so far, and the items
    to write (their answers are placeholders until their writes win)."""
    out: list[ResultReply] = []
    judged: list[_Judged] = []
    seen: set[tuple[int, int]] = set()
    for index, r in enumerate(results):
        key = (r.job_id, r.element_id)
        try:
            if key in seen:
                raise Conflict(f"element {key[0]}.{key[1]}: reported twice in one request")
            item = _judge_one(batch, index, key, r)
        except (Conflict, NotFound, BadRequest) as exc:
            out.append(_refused(r, exc))
            continue
        seen.add(key)
        judged.append(item)
        out.append(result_answer(r.job_id, r.element_id, ""))  # its status once written
    return out, judged


def _judge_one(batch: _Batch, index: int, key: tuple[int, int], r: Result) -> _Judged:
    """One item's outcome; raises its refusal (a stale lease, bad text, a bad listing)."""
    row = leased(batch.session, r.job_id, r.element_id, r.token, batch.rows)
    check_text(r)
    job = batch.jobs[r.job_id]
    simple = simple_success(row, job, r)
    if simple is not None:
        # Most results: a file copied, removed or made. Nothing but status,
        # counters and lease changes, so no per-item judging.
        attempt = success_attempt(simple, row, r, batch.now)
        return _Judged(index, key, r, row, job, simple.status, attempt, None)
    status, attempt_row, outcome = judge(
        row, job, r, batch.policy, batch.now, lambda: batch.full_job(r.job_id)
    )
    entries = None
    if status == JobStatus.DONE and row.type == JobType.LIST:
        entries = check_listing(r.listing)
        fused_copy.check(r)
    attempt = tuple(attempt_row[c] for c in ATTEMPT_COLUMNS)
    error = attempt_row["error"]
    return _Judged(index, key, r, row, job, status, attempt, outcome, entries, error)


def _write(batch: _Batch, judged: list[_Judged]) -> set[tuple[int, int]]:
    """The judged items' element writes; the keys that won (the rest lost their lease).

    Plain outcomes are written by guarded UPDATEs that say which rows they
    changed; the others first take their leases, then are written.
    """
    session, now = batch.session, batch.now
    plain = [(*j.key, j.r.token, int(j.status)) for j in judged if j.outcome is None]
    won = writes.end_plain(session, plain, now)
    others = [(j, j.outcome) for j in judged if j.outcome is not None]
    taken = writes.take_leases(session, [(*j.key, j.r.token) for j, _ in others], now)
    outcomes = [(outcome, j.r.token) for j, outcome in others if j.key in taken]
    if writes.end_judged(session, outcomes) != len(outcomes):
        # Cannot happen while the leases are held (see take_leases); if it
        # does, the whole batch is undone rather than half-recorded.
        raise Conflict("the leases changed while the results were recorded; send them again")
    return won | taken


def _record_won(batch: _Batch, winners: list[_Judged], recorded: Recorded) -> None:
    """What the winners leave besides their element: attempts, custom results, listings."""
    attempts = [j.attempt for j in winners]
    insert_rows(batch.session, ATTEMPTS, ATTEMPT_COLUMNS, attempts, skip_existing=True)
    listed: list[_Judged] = []
    for j in winners:
        if j.job.type_name is not None:
            _custom_outcome(batch.full_job(j.job.id), j.status, j.attempt[_NUMBER], j.error, j.r)
        if j.status == JobStatus.NEW:
            recorded.made_work = True
        if j.entries is not None:
            recorded.made_work = True
            listed.append(j)
    if listed:
        _store_listings(batch, listed)


def _store_listings(batch: _Batch, listed: list[_Judged]) -> None:
    """Finished LISTs' listings, for path jobs' LISTs their expansions, and the one
    file some of them copied in the same lease: each step for the lot at once."""
    session = batch.session
    store_listings(
        session,
        [(j.r.job_id, j.r.element_id, j.attempt[_NUMBER], j.entries or []) for j in listed],
    )
    # The listings were checked before anything was written; plan from them
    # in memory rather than read 100,000 rows back.
    path_lists = [j for j in listed if j.row.id == 0]
    planned = expand_many(
        session, [(j.job, j.row, j.attempt[_NUMBER], j.entries) for j in path_lists]
    )
    # Their one file, copied in the same lease: element 1's first attempt.
    fused = [
        (j.job, j.row, j.r)
        for j in path_lists
        if planned.get(j.job.id) == 1 and j.r.file is not None
    ]
    fused_copy.record_many(session, fused, batch.policy, batch.now)


def _advance_jobs(batch: _Batch, winners: list[_Judged], recorded: Recorded) -> None:
    """Stage advance and end stamps, once per job the winners touched.

    A job whose ORM object this batch loaded is advanced through it (its
    pending changes flushed first); the others by their plain rows, together.
    """
    touched = {j.job.id: j.job for j in winners}
    plain_jobs = []
    for job_id, job in touched.items():
        orm = batch.full.get(job_id)
        if orm is None:
            plain_jobs.append(job)
        elif after_element_change(batch.session, orm):
            recorded.made_work = True
    if after_results_many(batch.session, plain_jobs):
        recorded.made_work = True


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
