"""The adaptive claim-ahead rule (haul.worker.claim_ahead), without a server."""

from __future__ import annotations

from haul.worker.claim_ahead import BYTE_BUDGET, QUEUE_SECONDS, ClaimAhead, Want

MIB = 1 << 20


def _run(rule: ClaimAhead, per_second: int, nbytes: int, seconds: float, t0: float = 0.0) -> float:
    """Feeds `rule` completions at `per_second` for `seconds`; returns the time reached."""
    n = int(per_second * seconds)
    for i in range(n):
        rule.finished(t0 + i / per_second, nbytes)
    return t0 + seconds


def test_cold_start_fills_the_slots_and_queues_one_per_slot() -> None:
    rule = ClaimAhead(concurrency=4, max_queued=500)
    assert rule.want(0.0, running=0, queued=0, queued_bytes=0) == Want(8)


def test_the_queue_holds_the_work_of_the_last_seconds() -> None:
    rule = ClaimAhead(concurrency=4, max_queued=500)
    now = _run(rule, per_second=100, nbytes=0, seconds=5)
    assert rule.target(now) == (int(100 * QUEUE_SECONDS), None)
    # Full: nothing; more than half full: nothing; drained to half: the difference.
    assert rule.want(now, running=4, queued=200, queued_bytes=0) is None
    assert rule.want(now, running=4, queued=101, queued_bytes=0) is None
    assert rule.want(now, running=4, queued=100, queued_bytes=0) == Want(100)


def test_fast_small_elements_queue_up_to_the_cap() -> None:
    rule = ClaimAhead(concurrency=4, max_queued=500)
    now = _run(rule, per_second=2000, nbytes=64 * 1024, seconds=3)
    count, nbytes = rule.target(now)
    assert count == 500  # 2 s of work would be 4,000: the cap wins
    assert nbytes is not None and nbytes >= 500 * 64 * 1024
    assert rule.want(now, running=4, queued=0, queued_bytes=0) == Want(500, nbytes)


def test_one_fast_element_does_not_size_the_queue_for_slow_ones() -> None:
    """A LIST done in a millisecond, then copies of 0.1 s each on 2 slots: ~20/s."""
    rule = ClaimAhead(concurrency=2, max_queued=500)
    rule.finished(0.001, 0)
    # One element counts as a quarter second's work (MIN_SPAN): 4/s, so 8 for 2 s.
    assert rule.target(0.001) == (8, None)
    now = _run(rule, per_second=20, nbytes=0, seconds=10, t0=1.0)
    count, _ = rule.target(now)
    assert 2 <= count <= 20 * QUEUE_SECONDS


def test_large_files_are_claimed_by_size() -> None:
    rule = ClaimAhead(concurrency=4, max_queued=500)
    now = _run(rule, per_second=1, nbytes=256 * MIB, seconds=10)  # 256 MiB/s in all
    count, nbytes = rule.target(now)
    assert count == 4
    assert nbytes == 2 * 256 * MIB
    # Slots free: they are filled whatever the sizes, the queue's bytes on top.
    assert rule.want(now, running=2, queued=0, queued_bytes=0) == Want(6, nbytes + 2 * 256 * MIB)
    # Every slot busy and the byte budget queued: nothing more, though the count allows.
    assert rule.want(now, running=4, queued=1, queued_bytes=nbytes) is None


def test_the_byte_budget_caps_a_fast_large_file_queue() -> None:
    rule = ClaimAhead(concurrency=4, max_queued=500)
    now = _run(rule, per_second=40, nbytes=256 * MIB, seconds=3)  # 10 GiB/s
    count, nbytes = rule.target(now)
    assert count == 80 and nbytes == BYTE_BUDGET  # 80 files would be 20 GiB
    assert rule.want(now, running=4, queued=4, queued_bytes=BYTE_BUDGET) is None


def test_the_window_is_at_most_a_quarter_of_the_lease() -> None:
    rule = ClaimAhead(concurrency=2, max_queued=500)
    rule.lease_seconds = 4.0
    now = _run(rule, per_second=100, nbytes=0, seconds=5)
    assert rule.target(now) == (100, None)  # 1 s of work, not QUEUE_SECONDS


def test_prefetch_zero_holds_only_what_runs() -> None:
    rule = ClaimAhead(concurrency=4, max_queued=0)
    assert rule.want(0.0, running=0, queued=0, queued_bytes=0) == Want(4)
    now = _run(rule, per_second=1000, nbytes=0, seconds=1)
    assert rule.want(now, running=4, queued=0, queued_bytes=0) is None
    assert rule.want(now, running=1, queued=0, queued_bytes=0) == Want(3)


def test_a_fresh_start_is_sized_from_its_first_tenths_of_a_second() -> None:
    rule = ClaimAhead(concurrency=4, max_queued=500)
    now = _run(rule, per_second=400, nbytes=0, seconds=0.5)  # 200 done in 0.5 s
    assert rule.target(now)[0] == 500  # 400/s for 2 s is 800: the cap


def test_an_idle_spell_forgets_old_pace() -> None:
    rule = ClaimAhead(concurrency=4, max_queued=10_000)
    now = _run(rule, per_second=1000, nbytes=0, seconds=3)
    assert rule.target(now)[0] == 2000
    assert rule.target(now + 60)[0] == 4  # back to one per slot


def test_a_starved_worker_is_sized_from_its_busy_time_not_its_throughput() -> None:
    """Slots that waited for claims finish few elements; the queue follows the
    rate the slots work at when busy, so the next claims end the waiting."""
    rule = ClaimAhead(concurrency=4, max_queued=500)
    # 100 copies of 10 ms each in the last second: 100/s of throughput, but the
    # four slots were busy 1 s in all, a quarter of their time: 400/s when busy.
    for i in range(100):
        rule.finished(i / 100, 64 * 1024, 0.01)
    count, nbytes = rule.target(1.0)
    assert count == 500  # 400/s for 2 s is 800: the cap
    assert nbytes is not None and nbytes >= 500 * 64 * 1024
    # Without durations it is the throughput, as before: 100/s for 2 s.
    plain = ClaimAhead(concurrency=4, max_queued=500)
    for i in range(100):
        plain.finished(i / 100, 64 * 1024)
    assert plain.target(1.0)[0] == 200


def test_a_busy_worker_is_sized_from_its_throughput() -> None:
    """Every slot busy all the time: busy time equals wall time, nothing changes."""
    rule = ClaimAhead(concurrency=4, max_queued=10_000)
    for i in range(400):  # 100/s, each taking 4 slots x 10 ms = 40 ms
        rule.finished(i / 100, 0, 0.04)
    assert rule.target(4.0)[0] == 200


def test_slow_elements_are_not_queued_by_their_duration() -> None:
    """Elements that run longer than the window: the wall time is the shorter span."""
    rule = ClaimAhead(concurrency=4, max_queued=500)
    rule.finished(10.0, 256 * MIB, 10.0)
    assert rule.target(10.5)[0] == 4  # one per slot, as with no durations


def test_a_full_worker_asks_for_namespace_work_at_most_every_quarter_second() -> None:
    from haul.worker.claim_ahead import NAMESPACE_POLL_SECONDS, NAMESPACE_WANT
    from haul.worker.config import WorkerConfig
    from haul.worker.loop import Worker

    w = Worker(WorkerConfig(server="http://127.0.0.1:9", token="t", concurrency=1))
    w.ahead.want = lambda *_a: None  # type: ignore[method-assign]  # slots and queue full
    try:
        assert w._want() == NAMESPACE_WANT
        assert w._want() is None  # asked a moment ago
        w.lane_asked -= NAMESPACE_POLL_SECONDS
        assert w._want() == NAMESPACE_WANT
    finally:
        w.pool.shutdown(timeout=1)
        w.api.close()


def test_a_transfer_claim_also_counts_as_asking_for_namespace_work() -> None:
    """A claim on the "all" lane serves namespace work first: no namespace-only
    claim follows it for NAMESPACE_POLL_SECONDS (it kept the loop from refilling
    the queue of small files)."""
    from haul.worker.claim_ahead import NAMESPACE_POLL_SECONDS, NAMESPACE_WANT, Want
    from haul.worker.config import WorkerConfig
    from haul.worker.loop import Worker

    w = Worker(WorkerConfig(server="http://127.0.0.1:9", token="t", concurrency=1))
    wants: list[Want | None] = [Want(8), None]
    w.ahead.want = lambda *_a: wants.pop(0)  # type: ignore[method-assign]
    try:
        assert w._want() == Want(8)
        assert w._want() is None  # full now, and namespace work was just asked for
        w.lane_asked -= NAMESPACE_POLL_SECONDS
        w.ahead.want = lambda *_a: None  # type: ignore[method-assign]
        assert w._want() == NAMESPACE_WANT
    finally:
        w.pool.shutdown(timeout=1)
        w.api.close()


def test_a_few_fast_small_copies_size_a_big_queue_at_once() -> None:
    """After a LIST, 7 copies of 64 KiB in 2 ms each: their rate, over at least
    MIN_BYTE_SPAN, sizes the next claim (not 8x their number, as MIN_SPAN did);
    the bytes bound it."""
    from haul.worker.claim_ahead import MIN_BYTE_SPAN

    rule = ClaimAhead(concurrency=4, max_queued=500)
    rule.finished(0.0, 0, 0.01)  # the LIST
    for i in range(7):
        rule.finished(0.01 + i / 1000, 64 * 1024, 0.002)
    count, nbytes = rule.target(0.02)
    scale = QUEUE_SECONDS / MIN_BYTE_SPAN
    assert count == int(8 * scale)
    assert nbytes == int(7 * 64 * 1024 * scale)


def test_a_fast_small_copy_does_not_size_the_queue_of_large_files() -> None:
    """The short span comes with a byte bound: large files after one small copy
    are claimed by size, about one at a time."""
    rule = ClaimAhead(concurrency=4, max_queued=500)
    rule.finished(0.0, 4096, 0.001)
    want = rule.want(0.001, running=4, queued=1, queued_bytes=256 * MIB)
    assert want is None  # the slots are busy and the queued bytes exceed the bound
