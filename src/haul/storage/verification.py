"""Step 5 of a copy (storage/copy.py), on the temporary before anything has
the final name: the bytes read against the source's size, the job's
checksum and the source's own; then what landed against the bytes read.

Its own module because it is the copy's one rule of what "verified" means
(the attempt log's line says which way it was checked), apart from the
moving of bytes around it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from haul.domain.errors import ErrorCode, ErrorScope, TransferError
from haul.storage._base import Storage
from haul.storage.checksums import Hasher, new_hasher, normalize_value
from haul.storage.chunks import chunk_reader
from haul.storage.expectation import Expectation
from haul.storage.scopes import in_scope

RECEIPT = "upload receipt: "
_READING = in_scope(ErrorScope.SOURCE)
_WRITING = in_scope(ErrorScope.DESTINATION)


def read_back(
    dst: Storage, path: str, algorithm: str, chunk_size: int, expect: int
) -> tuple[str, int]:
    """The checksum and size of what `path` holds, by reading it back."""
    hasher = new_hasher(algorithm)
    size = 0
    with dst.open_read(path) as stream:
        next_chunk = chunk_reader(stream, chunk_size, reuse=True, expect=expect)
        while chunk := next_chunk():
            hasher.update(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size


def check_size(transferred: int, temp: str, landed: int) -> None:
    if landed != transferred:
        raise TransferError(
            ErrorCode.SIZE_MISMATCH, f"wrote {transferred} bytes but {temp} has {landed}"
        )


@dataclass(frozen=True)
class Checked:
    digest: str | None
    verified: str
    landed_size: int | None  # what the destination holds, when a read back counted it


def verify_copy(
    src: Storage,
    src_path: str,
    dst: Storage,
    temp: str,
    *,
    size: int,
    transferred: int,
    hasher: Hasher | None,
    algorithm: str | None,
    verify: bool,
    expect: Expectation | None,
    chunk_size: int,
    check_cancel: Callable[[], None],
    receipt: str | None = None,
    source_sum: Callable[[], str | None] | None = None,
) -> Checked:
    """Step 5, on the temporary, before anything has the final name: the
    bytes read against the source's size, the job's checksum and the
    source's own; then, with `verify`, what landed against the bytes read."""
    with _READING:
        if transferred != size:
            raise TransferError(
                ErrorCode.SIZE_MISMATCH, f"read {transferred} bytes but {src_path} has {size}"
            )
    if hasher is None or algorithm is None:
        return Checked(None, "size only", None)
    digest = hasher.hexdigest()
    with _READING:
        if expect is not None:
            expect.check_checksum(src_path, algorithm, digest)
        reported = source_sum() if source_sum is not None else src.checksum(src_path, algorithm)
        if reported is not None and normalize_value(algorithm, reported) != digest:
            raise TransferError(
                ErrorCode.CHECKSUM_MISMATCH,
                f"{algorithm} of bytes read {digest} != source's {reported}",
            )
        if not verify:
            return Checked(digest, "size only (verify off)", None)
        check_cancel()
    with _WRITING:
        landed_sum = dst.checksum(temp, algorithm)
        if landed_sum is None and receipt is not None:
            return Checked(digest, RECEIPT + receipt, None)  # the size: a stat at publish
        verified = "destination checksum"
        landed_size: int | None = None
        if landed_sum is None:
            landed_sum, landed_size = read_back(dst, temp, algorithm, chunk_size, transferred)
            check_size(transferred, temp, landed_size)
            verified = "read back"
        if normalize_value(algorithm, landed_sum) != digest:
            raise TransferError(
                ErrorCode.CHECKSUM_MISMATCH,
                f"{algorithm} at destination {landed_sum} != source {digest}",
            )
    return Checked(digest, verified, landed_size)
