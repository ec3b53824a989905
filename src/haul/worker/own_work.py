"""Retries that recognise their own earlier work, and sweep what it left.

A worker killed after publishing a file, but before its result reached the
server, leaves a correct destination behind; the retry must not call that an
``EXISTS`` failure. It must not overwrite somebody else's file either, so a
destination counts as this element's own only when all of these hold
(docs/storage.md, "Retries and their own earlier work"):

- the element has had an earlier attempt (``attempt_seq`` or ``attempts`` > 0),
- the destination is not older than the job's submission (less a little
  clock slack between the server and the storage),
- its size and checksum equal the source's.

A killed attempt also leaves its temporary behind. Temporary names carry the
job, element and attempt number, so a retry removes those of the earlier
attempt numbers before it copies; first attempts skip the sweep entirely.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from haul.domain.errors import ErrorCode, TransferError
from haul.protocol.leases import LeasedElement
from haul.storage import Storage
from haul.storage.checksums import checksum_stream, normalize_algorithm, normalize_value
from haul.storage.temporaries import remove_temporaries
from haul.worker.places import Place
from haul.worker.running import Running

# Seconds a destination's mtime may precede the job's submission and still be
# this job's work: the storage's clock and the server's are not the same clock.
CLOCK_SLACK_SECONDS = 2.0
# Earlier attempts whose temporaries a retry looks for (the most recent ones).
SWEEP_ATTEMPTS = 20
# The algorithm that proves "same content" when the job turned checksums off.
FALLBACK_ALGORITHM = "adler32"


def attempt_number(element: LeasedElement) -> int:
    """How many attempts this element has had before this one (0: the first)."""
    return int(element.get("attempt_seq") or 0)


def is_retry(element: LeasedElement) -> bool:
    return attempt_number(element) > 0 or int(element.get("attempts") or 0) > 0


def temp_tag(element: LeasedElement, number: int | None = None) -> str:
    """The temporary-name tag of this element's attempt `number` (default: this one)."""
    n = attempt_number(element) if number is None else number
    return f"{element['job_id']}-{element['id']}-{n}"


def sweep_temporaries(storage: Storage, dst_path: str, element: LeasedElement) -> list[str]:
    """Removes the temporaries of this element's earlier attempts; returns their names."""
    current = attempt_number(element)
    earlier = range(max(0, current - SWEEP_ATTEMPTS), current)
    return remove_temporaries(storage, dst_path, [temp_tag(element, n) for n in earlier])


def digest(storage: Storage, path: str, algorithm: str) -> str:
    """The storage's own checksum when it has one, else one computed by reading."""
    own = storage.checksum(path, algorithm)
    if own is not None:
        return normalize_value(algorithm, own)
    with storage.open_read(path) as stream:
        return checksum_stream(stream, algorithm)


def already_copied(
    src: Storage,
    src_path: str,
    dst: Storage,
    dst_path: str,
    *,
    submitted: str | None,
    checksum: str,
) -> tuple[str, str] | None:
    """(algorithm, checksum) when the destination is this job's own finished copy.

    Only called on a retry, for a destination that exists with overwrite off.
    None means "not provably ours": the copy goes on and reports EXISTS.
    """
    if not submitted:
        return None
    try:
        when = datetime.fromisoformat(submitted)
        when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
        since = when.timestamp() - CLOCK_SLACK_SECONDS
        target = dst.stat(dst_path)
        if target.is_dir or target.mtime is None or target.mtime < since:
            return None
        source = src.stat(src_path)
        if source.is_dir or source.size != target.size:
            return None
        algorithm = normalize_algorithm(checksum) or FALLBACK_ALGORITHM
        want = digest(src, src_path, algorithm)
        if digest(dst, dst_path, algorithm) != want:
            return None
    except (TransferError, ValueError):
        return None  # cannot prove it: let the copy report what is wrong
    return algorithm, want


def own_copy(run: Running, src: Place, dst: Place, algorithm: str) -> dict[str, Any] | None:
    """The copy result of an earlier attempt's finished copy, when it provably is one."""
    mine = already_copied(
        src.storage,
        src.path,
        dst.storage,
        dst.path,
        submitted=run.job.get("submitted"),
        checksum=algorithm,
    )
    if mine is None:
        return None
    run.say(f"{dst.shown}: already there, verified ({mine[0]} {mine[1]})")
    size = dst.storage.stat(dst.path).size
    return {"bytes": 0, "checksum": f"{mine[0]}:{mine[1]}", "size": size}


def rename_done(storage: Storage, src: str, dst: str) -> bool:
    """A retried RENAME whose source is gone and destination present already ran."""
    try:
        storage.lstat(src)
    except TransferError as exc:
        if exc.code is not ErrorCode.NOT_FOUND:
            return False
        try:
            storage.lstat(dst)
        except TransferError:
            return False
        return True
    return False
