"""How an element's state moves: one pure function per event.

Events are an attempt's result, a lease lost (expired without a result), a
cancel (a control verb or a ban), and the hand-made requeues: retry,
reactivate, recover. Services read rows, ask here what the new state is, and
write it with guarded SQL; nothing here touches a database, so the rules can
be tested one by one and every writer agrees on them.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, NamedTuple

from haul.domain.enums import LEASED, TERMINAL_STATUSES, Command, ElementMode, JobStatus

VERIFY = ElementMode.VERIFY
OVERWRITE = ElementMode.OVERWRITE


class NotBefore(Enum):
    """What becomes of an element's ``not_before`` (the backoff needs the caller's clock)."""

    KEEP = "keep"
    CLEAR = "clear"
    BACKOFF = "backoff"  # now + backoff_seconds(attempts, ...)


class Ended(NamedTuple):
    """An element's state after one of its attempts ended.

    A NamedTuple rather than a dataclass: the result path builds one per
    reported element, and a tuple is several times cheaper to make.
    """

    status: JobStatus
    attempts: int  # tries counted against max_tries
    attempt_seq: int  # the number of the attempt that ended
    attempt_status: JobStatus  # what the attempt's own row records
    mode: str | None
    not_before: NotBefore
    check: bool = False  # a recover check passed: its verdict decides (see on_check)
    # Nothing but status and counters (each one up) change: the result path
    # writes these with one bulk UPDATE per job and status.
    plain: bool = False


_DONE, _NEW, _FAILED, _CANCELLED = (
    JobStatus.DONE,
    JobStatus.NEW,
    JobStatus.FAILED,
    JobStatus.CANCELLED,
)
_KEEP, _CLEAR, _BACKOFF = NotBefore.KEEP, NotBefore.CLEAR, NotBefore.BACKOFF
_CANCEL = Command.CANCEL.value


def cancelling(job_cancelled: bool, command: str | None) -> bool:
    """Whether the element is being cancelled: its job was, or a worker was told to stop."""
    return job_cancelled or (command is not None and command == _CANCEL)


def on_result(
    *,
    attempts: int,
    attempt_seq: int,
    max_tries: int,
    mode: str | None,
    cancelling: bool,
    succeeded: bool,
    cancelled: bool = False,
    retryable: bool = True,
) -> Ended:
    """A worker's result. ``cancelled``: the worker stopped it (error code CANCELLED).

    A success is DONE (a check goes on to ``on_check``, an overwrite is done
    with its mode); a failure while cancelling, or a cancelled one, is
    CANCELLED; a retryable failure with tries left is queued again after a
    backoff (its attempt recorded FAILED); anything else FAILED. Every
    outcome counts one more try and one more attempt.

    Written as early returns with the statuses bound to module names: the
    result path asks this once per reported element.
    """
    if succeeded:
        return on_success(attempts, attempt_seq, mode)
    tries = attempts + 1
    seq = attempt_seq + 1
    if cancelling or cancelled:
        return Ended(_CANCELLED, tries, seq, _CANCELLED, mode, _KEEP, False, True)
    if retryable and tries < max_tries:
        return Ended(_NEW, tries, seq, _FAILED, mode, _BACKOFF, False, False)
    return Ended(_FAILED, tries, seq, _FAILED, mode, _KEEP, False, True)


def on_success(attempts: int, attempt_seq: int, mode: str | None) -> Ended:
    """A successful attempt (``on_result`` with ``succeeded``): DONE whether or not the
    element was being cancelled (the work is done); a recover check goes on to
    ``on_check``, an overwrite is done with its mode. The result path's plain
    successes ask this directly, without the keywords a failure needs.
    """
    tries = attempts + 1
    seq = attempt_seq + 1
    if mode is None:
        return Ended(_DONE, tries, seq, _DONE, None, _KEEP, False, True)
    if mode == VERIFY:
        return Ended(_DONE, tries, seq, _DONE, mode, _KEEP, True, False)
    if mode == OVERWRITE:
        return Ended(_DONE, tries, seq, _DONE, None, _KEEP, False, False)
    return Ended(_DONE, tries, seq, _DONE, mode, _KEEP, False, True)


def on_check(ended: Ended, *, repair: bool) -> Ended:
    """A recover check's verdict: ``repair`` (it differs, not a dry run) re-copies at once."""
    if not ended.check:
        raise ValueError("on_check: the attempt was not a passed recover check")
    if not repair:
        return Ended(JobStatus.DONE, ended.attempts, ended.attempt_seq, JobStatus.DONE, None,
                     NotBefore.KEEP)
    # A fresh budget of tries for the copy; the check's attempt row says FAILED.
    return Ended(JobStatus.NEW, 0, ended.attempt_seq, JobStatus.FAILED, OVERWRITE,
                 NotBefore.CLEAR)


def on_lease_lost(
    *, attempts: int, attempt_seq: int, max_tries: int, mode: str | None, cancelling: bool
) -> Ended:
    """A lease expired without a result: a failed (LOST, retryable) attempt; mode stays."""
    tries = attempts + 1
    if cancelling:
        status = JobStatus.CANCELLED
    elif tries < max_tries:
        status = JobStatus.NEW
    else:
        status = JobStatus.FAILED
    not_before = NotBefore.BACKOFF if status == JobStatus.NEW else NotBefore.CLEAR
    # The attempt failed whatever becomes of the element.
    return Ended(status, tries, attempt_seq + 1, JobStatus.FAILED, mode, not_before)


class Cancel(Enum):
    """What a cancel does to an element."""

    NOW = "cancelled at once"  # queued: nobody holds it
    SIGNAL = "told to stop"  # leased: its worker hears it in the next heartbeat answer
    NOTHING = "left alone"  # finished, or paused


def on_cancel(status: JobStatus) -> Cancel:
    if status == JobStatus.NEW:
        return Cancel.NOW
    if status in LEASED:
        return Cancel.SIGNAL
    return Cancel.NOTHING


# The statuses each effect applies to, for set-based UPDATEs.
CANCEL_NOW = frozenset(s for s in JobStatus if on_cancel(s) is Cancel.NOW)
CANCEL_SIGNAL = frozenset(s for s in JobStatus if on_cancel(s) is Cancel.SIGNAL)
CANCEL_PENDING = frozenset(JobStatus) - TERMINAL_STATUSES  # what a cancel may still affect


class Requeue(Enum):
    """The hand-made ways back to the queue, each with a fresh budget of tries."""

    RETRY = "retry"  # a FAILED or CANCELLED job: its failed and cancelled elements
    REACTIVATE = "reactivate"  # a finished job: every element, from the first stage
    RECOVER = "recover"  # a DONE or FAILED COPY job: its copies become checks


_REQUEUED_FROM: dict[Requeue, frozenset[JobStatus]] = {
    Requeue.RETRY: frozenset({JobStatus.FAILED, JobStatus.CANCELLED}),
    Requeue.REACTIVATE: frozenset(JobStatus),
    Requeue.RECOVER: frozenset({JobStatus.DONE, JobStatus.FAILED}),
}


def requeued_from(event: Requeue) -> frozenset[JobStatus]:
    """The element statuses the event queues again."""
    return _REQUEUED_FROM[event]


def requeue(event: Requeue, status: JobStatus) -> dict[str, Any] | None:
    """The element's new values, or None when the event leaves it alone."""
    if status not in _REQUEUED_FROM[event]:
        return None
    values: dict[str, Any] = {
        "status": JobStatus.NEW,
        "attempts": 0,
        "not_before": None,
        "command": None,
    }
    if event is Requeue.RECOVER:
        values["mode"] = VERIFY
    return values


def set_by_hand(target: JobStatus) -> dict[str, Any]:
    """A custom job's element moved by its owner (seed 004's set_job): its new values.

    Queued again, it gets a fresh budget of tries; queued or finished, no
    worker holds it any more, so its lease goes.
    """
    values: dict[str, Any] = {"status": target}
    if target == JobStatus.NEW:
        values |= {"attempts": 0, "not_before": None}
    if target == JobStatus.NEW or target in TERMINAL_STATUSES:
        values |= {"lease_token": None, "lease_expires": None}
    return values
