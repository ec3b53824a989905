"""Trying a listed file's other replicas when its source fails (FTS3's multiple sources).

A COPY that lists its files may name, per file, other places the same file
lives (``sources``). When the current source fails with a SOURCE error
(missing, refused, unreachable, or not what the job listed), the next one is
tried, in the order given; a failure at the destination or of the transfer
itself is not the source's fault and ends the attempt as it is. The attempt
log names every replica tried and the one that served.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from haul.domain.errors import ErrorCode, ErrorScope, TransferError
from haul.protocol.leases import Replica  # in a lease's "sources"; None: the job's own

T = TypeVar("T")


def from_replicas(
    replicas: list[Replica],
    attempt: Callable[[Replica | None], T],
    say: Callable[[str], None],
) -> T:
    """``attempt(None)`` (the job's own source), then ``attempt(r)`` for each replica."""
    if not replicas:
        return attempt(None)
    failures: list[str] = []
    last: TransferError | None = None
    for i, replica in enumerate([None, *replicas]):
        name = "the job's source" if replica is None else _named(replica)
        if i:
            say(f"trying replica {i + 1} of {len(replicas) + 1}: {name}")
        try:
            result = attempt(replica)
        except TransferError as exc:
            if exc.scope is not ErrorScope.SOURCE or exc.code is ErrorCode.CANCELLED:
                raise
            say(f"{name}: {exc.code.value}: {exc.message}")
            failures.append(f"{name}: {exc.code.value}")
            last = exc
            continue
        if i:
            say(f"served by replica {i + 1}: {name}")
        return result
    assert last is not None
    raise TransferError(
        last.code,
        f"every replica failed ({'; '.join(failures)}); last: {last.message}",
        scope=ErrorScope.SOURCE,
        retryable=last.retryable,
    )


def _named(replica: Replica) -> str:
    site = replica.get("site") or {}
    return f"site {site.get('site_name', replica.get('siteid'))} {replica.get('filepath')}"
