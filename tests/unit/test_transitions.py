"""domain.transitions: each event's rule, on its own, without a database."""

from __future__ import annotations

import pytest

from haul.domain.enums import JobStatus
from haul.domain.transitions import (
    CANCEL_NOW,
    CANCEL_PENDING,
    CANCEL_SIGNAL,
    OVERWRITE,
    VERIFY,
    Cancel,
    NotBefore,
    Requeue,
    cancelling,
    on_cancel,
    on_check,
    on_lease_lost,
    on_result,
    on_success,
    requeue,
    requeued_from,
    set_by_hand,
)


def _result(**kw):
    base = dict(attempts=0, attempt_seq=0, max_tries=3, mode=None, cancelling=False)
    return on_result(**(base | kw))


# -------------------------------------------------------------------- result


def test_success_is_done_and_counts_one_try_and_one_attempt() -> None:
    e = _result(attempts=1, attempt_seq=4, succeeded=True)
    assert (e.status, e.attempts, e.attempt_seq, e.attempt_status) == (
        JobStatus.DONE, 2, 5, JobStatus.DONE,
    )
    assert e.not_before is NotBefore.KEEP and e.plain and not e.check


def test_retryable_failure_with_tries_left_is_queued_after_a_backoff() -> None:
    e = _result(attempts=0, max_tries=3, succeeded=False, retryable=True)
    assert e.status == JobStatus.NEW and e.attempt_status == JobStatus.FAILED
    assert e.not_before is NotBefore.BACKOFF and not e.plain


def test_failure_on_the_last_try_or_not_retryable_fails() -> None:
    last = _result(attempts=2, max_tries=3, succeeded=False)
    assert last.status == JobStatus.FAILED and last.attempts == 3
    fatal = _result(attempts=0, max_tries=3, succeeded=False, retryable=False)
    assert fatal.status == JobStatus.FAILED and fatal.plain


@pytest.mark.parametrize(
    "kw",
    [
        {"cancelling": True},  # the job was cancelled, or the worker was told to stop
        {"cancelled": True},  # the worker reported CANCELLED
    ],
)
def test_a_failure_while_cancelling_is_cancelled_not_retried(kw) -> None:
    e = _result(succeeded=False, **kw)
    assert e.status == JobStatus.CANCELLED and e.attempt_status == JobStatus.CANCELLED
    assert e.not_before is NotBefore.KEEP


def test_success_wins_over_a_cancel() -> None:
    assert _result(succeeded=True, cancelling=True).status == JobStatus.DONE


def test_cancelling_means_a_cancelled_job_or_a_cancel_command() -> None:
    assert cancelling(True, None) and cancelling(False, "cancel")
    assert not cancelling(False, None) and not cancelling(False, "pause please")


def test_an_overwrite_that_succeeds_is_done_with_its_mode() -> None:
    e = _result(mode=OVERWRITE, succeeded=True)
    assert e.status == JobStatus.DONE and e.mode is None and not e.plain


def test_a_failed_overwrite_keeps_its_mode_for_the_next_try() -> None:
    e = _result(mode=OVERWRITE, succeeded=False)
    assert e.status == JobStatus.NEW and e.mode == OVERWRITE


# -------------------------------------------------------------------- recover


def test_a_passed_check_waits_for_its_verdict() -> None:
    e = _result(mode=VERIFY, succeeded=True)
    assert e.check and not e.plain
    same = on_check(e, repair=False)
    assert (same.status, same.mode, same.attempts) == (JobStatus.DONE, None, 1)
    assert same.attempt_status == JobStatus.DONE and same.not_before is NotBefore.KEEP


def test_a_differing_check_re_copies_at_once_with_fresh_tries() -> None:
    e = on_check(_result(attempts=2, attempt_seq=2, mode=VERIFY, succeeded=True), repair=True)
    assert (e.status, e.mode, e.attempts, e.attempt_seq) == (JobStatus.NEW, OVERWRITE, 0, 3)
    assert e.not_before is NotBefore.CLEAR and e.attempt_status == JobStatus.FAILED


def test_on_check_refuses_what_was_not_a_check() -> None:
    with pytest.raises(ValueError):
        on_check(_result(succeeded=True), repair=True)


def test_recover_requeues_done_and_failed_elements_as_checks() -> None:
    assert requeued_from(Requeue.RECOVER) == {JobStatus.DONE, JobStatus.FAILED}
    assert requeue(Requeue.RECOVER, JobStatus.DONE) == {
        "status": JobStatus.NEW, "attempts": 0, "not_before": None, "command": None,
        "mode": VERIFY,
    }
    assert requeue(Requeue.RECOVER, JobStatus.RUNNING) is None


# -------------------------------------------------------------------- lease lost


def test_a_lost_lease_is_a_failed_attempt_retried_after_a_backoff() -> None:
    e = on_lease_lost(attempts=0, attempt_seq=3, max_tries=2, mode=VERIFY, cancelling=False)
    assert (e.status, e.attempts, e.attempt_seq) == (JobStatus.NEW, 1, 4)
    assert e.attempt_status == JobStatus.FAILED and e.not_before is NotBefore.BACKOFF
    assert e.mode == VERIFY


def test_a_lost_lease_on_the_last_try_fails_and_clears_the_backoff() -> None:
    e = on_lease_lost(attempts=1, attempt_seq=1, max_tries=2, mode=None, cancelling=False)
    assert e.status == JobStatus.FAILED and e.not_before is NotBefore.CLEAR


def test_a_lost_lease_while_cancelling_cancels_but_the_attempt_failed() -> None:
    e = on_lease_lost(attempts=0, attempt_seq=0, max_tries=5, mode=None, cancelling=True)
    assert e.status == JobStatus.CANCELLED and e.attempt_status == JobStatus.FAILED


# -------------------------------------------------------------------- cancel


def test_cancel_ends_queued_elements_and_signals_leased_ones() -> None:
    assert on_cancel(JobStatus.NEW) is Cancel.NOW
    assert on_cancel(JobStatus.SUBMITTED) is Cancel.SIGNAL
    assert on_cancel(JobStatus.RUNNING) is Cancel.SIGNAL
    for s in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.PAUSED):
        assert on_cancel(s) is Cancel.NOTHING
    assert {JobStatus.NEW} == CANCEL_NOW
    assert {JobStatus.SUBMITTED, JobStatus.RUNNING} == CANCEL_SIGNAL
    assert CANCEL_NOW | CANCEL_SIGNAL <= CANCEL_PENDING
    assert not CANCEL_PENDING & {JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED}


# -------------------------------------------------------------------- retry, reactivate


def test_retry_requeues_failed_and_cancelled_elements_only() -> None:
    assert requeued_from(Requeue.RETRY) == {JobStatus.FAILED, JobStatus.CANCELLED}
    assert requeue(Requeue.RETRY, JobStatus.DONE) is None
    assert requeue(Requeue.RETRY, JobStatus.FAILED) == {
        "status": JobStatus.NEW, "attempts": 0, "not_before": None, "command": None,
    }


def test_reactivate_requeues_every_element() -> None:
    assert requeued_from(Requeue.REACTIVATE) == set(JobStatus)
    for s in JobStatus:
        values = requeue(Requeue.REACTIVATE, s)
        assert values is not None and values["status"] == JobStatus.NEW
        assert values["attempts"] == 0 and "mode" not in values


# -------------------------------------------------------------------- set by hand


def test_set_by_hand_frees_the_lease_unless_still_running() -> None:
    assert set_by_hand(JobStatus.NEW) == {
        "status": JobStatus.NEW, "attempts": 0, "not_before": None,
        "lease_token": None, "lease_expires": None,
    }
    assert set_by_hand(JobStatus.DONE) == {
        "status": JobStatus.DONE, "lease_token": None, "lease_expires": None,
    }
    assert set_by_hand(JobStatus.RUNNING) == {"status": JobStatus.RUNNING}


@pytest.mark.parametrize("mode", [None, VERIFY, OVERWRITE, "noreplace"])
@pytest.mark.parametrize("being_cancelled", [False, True])
def test_on_success_is_on_result_of_a_success(mode: str | None, being_cancelled: bool) -> None:
    """The result path's plain successes ask on_success directly: the same answer as
    on_result's, whether or not the element was being cancelled."""
    got = on_success(2, 5, mode)
    assert got == _result(attempts=2, attempt_seq=5, mode=mode, cancelling=being_cancelled,
                          succeeded=True)
    assert (got.status, got.attempts, got.attempt_seq) == (JobStatus.DONE, 3, 6)
