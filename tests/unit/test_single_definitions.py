"""The bounds and status groups every layer checks against, defined once in domain."""

from __future__ import annotations

from haul.domain.enums import (
    LEASED,
    RUNNABLE,
    TERMINAL_STATUSES,
    BanAction,
    BanKind,
    Command,
    ElementMode,
    JobStatus,
    Role,
)
from haul.domain.limits import MAX_TRIES, PRIORITY


def test_status_groups() -> None:
    assert set(LEASED) == {JobStatus.SUBMITTED, JobStatus.RUNNING}
    assert set(RUNNABLE) == {JobStatus.NEW, *LEASED}
    assert not set(RUNNABLE) & TERMINAL_STATUSES
    # Plain integers, so SQL IN lists and JobStatus membership tests share them.
    assert all(type(v) is int for v in (*LEASED, *RUNNABLE))
    assert JobStatus.RUNNING in LEASED and JobStatus.NEW not in LEASED


def test_priority_and_max_tries_bounds() -> None:
    assert (PRIORITY.low, PRIORITY.high, PRIORITY.default) == (0, 9, 5)
    assert (MAX_TRIES.low, MAX_TRIES.high, MAX_TRIES.default) == (1, 100, 2)
    assert PRIORITY.holds(0) and PRIORITY.holds(9) and not PRIORITY.holds(10)
    assert not PRIORITY.holds(-1) and not MAX_TRIES.holds(0) and MAX_TRIES.holds(100)
    assert PRIORITY.holds(PRIORITY.default) and MAX_TRIES.holds(MAX_TRIES.default)


def test_string_enums_keep_the_stored_and_wire_values() -> None:
    # These strings are in databases and in FTS3/pdm clients' requests.
    assert Command.CANCEL == "cancel"
    assert (ElementMode.VERIFY, ElementMode.OVERWRITE) == ("verify", "overwrite")
    assert (BanKind.STORAGE, BanKind.USER) == ("se", "dn")
    assert [a.value for a in BanAction] == ["cancel", "wait"]
    assert [r.value for r in Role] == ["user", "admin", "worker", "metrics", "system"]
