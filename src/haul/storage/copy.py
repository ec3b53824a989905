"""The copy engine: stream one file between any two storages, safely.

Guarantee: a reader of the destination never sees a partial file under the
final name. Bytes go to a hidden temporary name in the destination directory
(`.<name>.haul-part-<tag>`, the tag naming the job, element and attempt, so
a later attempt can find and remove what a killed one left); only after the
size and checksum check out is the temporary renamed into place with the
storage's own server-side rename.
Any failure or cancellation removes the temporary and raises `TransferError`
scoped to the side that failed.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from haul.domain.errors import ErrorCode, ErrorScope, TransferError
from haul.storage._base import Storage, basename, join, normpath, parent
from haul.storage.checksums import Hasher, new_hasher, normalize_algorithm, normalize_value
from haul.storage.chunks import chunk_reader
from haul.storage.expectation import Expectation

DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024
PROGRESS_INTERVAL = 0.5
_PART_MARK = ".haul-part-"
_MAX_NAME = 255


@dataclass(frozen=True)
class Progress:
    """Bytes so far, seconds so far, and rates in bytes/s (since last report, overall)."""

    transferred: int
    elapsed: float
    instant: float
    average: float


@dataclass(frozen=True)
class CopyResult:
    bytes: int
    checksum: str | None
    algorithm: str
    # How the destination was checked: "destination checksum" (the storage
    # computed it), "read back", or "size only" (no checksum or verify off).
    verified: str = "size only"

    def verification(self) -> str:
        """The attempt log's line saying how the destination was checked."""
        if self.verified == "destination checksum":
            return (
                f"destination verified: {self.algorithm} by the destination's checksum, "
                "no read back"
            )
        if self.verified == "read back":
            return f"destination verified: {self.algorithm} by reading it back"
        return f"destination verified: {self.verified}"


# Temporary names need uniqueness, not secrecy; a seeded PRNG spares a
# getrandom() system call per file on the hot path of small-file copies.
_NAMES = random.Random()


def temp_name_for(dst_path: str, tag: str | None = None) -> str:
    """A hidden sibling of `dst_path`: same directory, so the final rename stays
    server-side and atomic on every protocol that has an atomic rename.

    `tag` (e.g. ``<job>-<element>-<attempt>``) makes the name deterministic, so
    a retry can compute and remove the temporaries of earlier attempts; without
    it the name is random (one-off copies outside a job).
    """
    name = basename(dst_path)
    suffix = f"{_PART_MARK}{tag if tag is not None else f'{_NAMES.getrandbits(48):012x}'}"
    room = _MAX_NAME - len(suffix) - 1
    encoded = name.encode()
    if len(encoded) > room:
        name = encoded[:room].decode(errors="ignore")
    return join(parent(dst_path), f".{name}{suffix}")


def is_temp_name(path: str) -> bool:
    name = basename(path)
    return name.startswith(".") and _PART_MARK in name


def remove_temporaries(dst: Storage, dst_path: str, tags: list[str]) -> list[str]:
    """Best effort: removes the temporaries `dst_path` had under `tags`.

    Returns the names removed. A temporary that is not there (the usual case:
    the earlier attempt finished or never started writing) is skipped, and so
    is one that cannot be removed: the sweep must never fail the copy.
    """
    removed = []
    for tag in tags:
        temp = temp_name_for(dst_path, tag)
        try:
            dst.remove(temp)
        except TransferError:
            continue
        removed.append(temp)
    return removed


class _Reporter:
    def __init__(self, callback: Callable[[Progress], None] | None) -> None:
        self._callback = callback
        self._start = time.monotonic()
        self._last_time = self._start
        self._last_bytes = 0

    def update(self, transferred: int, final: bool = False) -> None:
        if self._callback is None:
            return
        now = time.monotonic()
        # The first bytes are reported at once, so an element that finishes
        # within PROGRESS_INTERVAL still shows what it moved while it runs.
        if not final and self._last_bytes and now - self._last_time < PROGRESS_INTERVAL:
            return
        elapsed = now - self._start
        span = now - self._last_time
        instant = (transferred - self._last_bytes) / span if span > 0 else 0.0
        average = transferred / elapsed if elapsed > 0 else 0.0
        self._last_time, self._last_bytes = now, transferred
        self._callback(Progress(transferred, elapsed, instant, average))


def _scoped(scope: ErrorScope, exc: BaseException, what: str) -> TransferError:
    if isinstance(exc, TransferError):
        return exc.with_scope(scope)
    return TransferError(ErrorCode.INTERNAL, f"{what}: {type(exc).__name__}: {exc}", scope=scope)


def _forget_dir(dirs: set[str] | None, dst_path: str, exc: TransferError | None) -> None:
    """After a failure the destination directory is checked afresh next time."""
    if dirs is not None and (exc is None or exc.code not in _KEEPS_DIRS):
        dirs.discard(parent(dst_path))


# Failures that say nothing about the destination directory.
_KEEPS_DIRS = frozenset({ErrorCode.CANCELLED, ErrorCode.EXISTS, ErrorCode.CHECKSUM_MISMATCH})


def _discard(dst: Storage, writer: BinaryIO | None, temp: str | None) -> None:
    """Best-effort cleanup after a failed copy; never masks the original error."""
    if writer is not None and not writer.closed:
        abort = getattr(writer, "abort", None)
        with contextlib.suppress(Exception):  # the copy's own error is the one to report
            if callable(abort):
                abort()
            else:
                writer.close()
    if temp is not None:
        with contextlib.suppress(Exception):  # e.g. never created; nothing to clean
            dst.remove(temp)


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


def _check_size(transferred: int, temp: str, landed: int) -> None:
    if landed != transferred:
        raise TransferError(
            ErrorCode.SIZE_MISMATCH, f"wrote {transferred} bytes but {temp} has {landed}"
        )


def _open_temp(dst: Storage, temp: str, dirs: set[str] | None) -> BinaryIO:
    """Opens the temporary; a directory remembered as made but gone is made again."""
    try:
        return dst.open_write(temp)
    except TransferError as exc:
        where = parent(temp)
        if exc.code is not ErrorCode.NOT_FOUND or dirs is None or where not in dirs:
            raise
        dirs.discard(where)  # removed since we made it: make it again, once
        dst.mkdir(where, parents=True)
        dirs.add(where)
        return dst.open_write(temp)


def publish(dst: Storage, temp: str, dst_path: str, overwrite: bool) -> None:
    """Gives the verified temporary its final name; never replaces a file unless `overwrite`."""
    if overwrite:
        dst.rename(temp, dst_path)
        return
    noreplace = getattr(dst, "rename_noreplace", None)
    try:
        if noreplace is not None:
            noreplace(temp, dst_path)
        else:  # a Storage that is not a BaseStorage: check, then rename
            if dst.exists(dst_path):
                raise TransferError(ErrorCode.EXISTS, f"{dst_path}: exists")
            dst.rename(temp, dst_path)
    except TransferError as exc:
        if exc.code is ErrorCode.EXISTS:
            raise TransferError(
                ErrorCode.EXISTS, f"{dst_path}: appeared during the copy", retryable=False
            ) from None
        raise


def copy_file(
    src: Storage,
    src_path: str,
    dst: Storage,
    dst_path: str,
    *,
    checksum: str = "adler32",
    overwrite: bool = False,
    verify: bool = True,
    progress: Callable[[Progress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    parents: bool = True,
    temp_tag: str | None = None,
    dirs: set[str] | None = None,
    expect: Expectation | None = None,
) -> CopyResult:
    """Copy one file; raises TransferError scoped SOURCE, DESTINATION or TRANSFER.

    Checksums: the checksum of the bytes read is computed while streaming. If
    the source storage reports its own checksum for the algorithm, the two
    must agree (catches a corrupted read). With `verify`, the destination
    must agree too: by its own checksum when it reports one (cheap, computed
    server-side), else by reading the temporary back. The size is always
    checked against the source's stat and what landed (the read-back's
    count, or else a stat of the temporary).

    Round trips: `dirs`, a set the caller keeps per destination (the worker:
    per job), remembers directories known to exist, so only a directory's
    first file checks and makes it; the destination is stat only if it
    exists; the final rename refuses an existing destination itself where
    the storage can (`rename_noreplace`), instead of a check before it.

    `expect`: what the job said the source is (a listed file's size and
    checksum, in `checksum`'s algorithm). A source that differs fails with
    SIZE_MISMATCH or CHECKSUM_MISMATCH, scope SOURCE, not retried (reading it
    again gives the same bytes), and nothing is published under its name.
    """
    try:
        algorithm = normalize_algorithm(checksum)
    except ValueError as exc:
        raise TransferError(ErrorCode.INVALID, str(exc), scope=ErrorScope.TRANSFER) from exc
    is_cancelled = cancelled or (lambda: False)

    def check_cancel() -> None:
        if is_cancelled():
            raise TransferError(ErrorCode.CANCELLED, "copy cancelled", scope=ErrorScope.TRANSFER)

    scope = ErrorScope.SOURCE
    try:
        src_path = normpath(src_path)
        source = src.stat(src_path)
        if source.is_dir:
            raise TransferError(ErrorCode.IS_A_DIRECTORY, f"{src_path}: is a directory")
        if expect is not None:
            expect.check_size(src_path, source.size)
        scope = ErrorScope.DESTINATION
        dst_path = normpath(dst_path)
        # exists, then stat only if it does: the usual absent destination costs
        # one call, without the exception a failed stat costs some backends.
        target = dst.stat(dst_path) if dst.exists(dst_path) else None
        if target is not None:
            if target.is_dir:
                raise TransferError(ErrorCode.IS_A_DIRECTORY, f"{dst_path}: is a directory")
            if not overwrite:
                raise TransferError(
                    ErrorCode.EXISTS, f"{dst_path}: exists and overwrite is off", retryable=False
                )
        dst_dir = parent(dst_path)
        if target is not None:
            if dirs is not None:
                dirs.add(dst_dir)  # a file is in it
        elif parents and (dirs is None or dst_dir not in dirs):
            if not dst.exists(dst_dir):
                dst.mkdir(dst_dir, parents=True)
            if dirs is not None:
                dirs.add(dst_dir)
        check_cancel()
    except TransferError as exc:
        if exc.code is not ErrorCode.CANCELLED:
            exc.with_scope(scope)
        raise
    except Exception as exc:
        raise _scoped(scope, exc, "preparing copy") from exc

    temp = temp_name_for(dst_path, temp_tag)
    writer: BinaryIO | None = None
    reporter = _Reporter(progress)
    hasher: Hasher | None = new_hasher(algorithm) if algorithm else None
    transferred = 0
    try:
        scope = ErrorScope.SOURCE
        reader = src.open_read(src_path)
        try:
            scope = ErrorScope.DESTINATION
            writer = _open_temp(dst, temp, dirs if parents else None)
            reuse = bool(getattr(dst, "reusable_write_buffers", False))
            next_chunk = chunk_reader(reader, chunk_size, reuse=reuse, expect=source.size)
            while True:
                check_cancel()
                scope = ErrorScope.SOURCE
                chunk = next_chunk()
                if not chunk:
                    break
                if hasher is not None:
                    hasher.update(chunk)
                scope = ErrorScope.DESTINATION
                view = memoryview(chunk)
                while view:
                    written = writer.write(view)
                    view = view[written if written is not None else len(view) :]
                transferred += len(chunk)
                reporter.update(transferred)
            check_cancel()
            scope = ErrorScope.DESTINATION
            writer.close()
        finally:
            with contextlib.suppress(Exception):  # the data is already read
                reader.close()

        # Verification, on the temporary, before anything has the final name.
        if transferred != source.size:
            scope = ErrorScope.SOURCE
            raise TransferError(
                ErrorCode.SIZE_MISMATCH,
                f"read {transferred} bytes but {src_path} has {source.size}",
            )
        scope = ErrorScope.DESTINATION
        landed_size: int | None = None  # what the destination holds, once known
        digest: str | None = None
        verified = "size only"
        if hasher is not None and algorithm is not None:
            digest = hasher.hexdigest()
            scope = ErrorScope.SOURCE
            if expect is not None:
                expect.check_checksum(src_path, algorithm, digest)
            reported = src.checksum(src_path, algorithm)
            if reported is not None and normalize_value(algorithm, reported) != digest:
                raise TransferError(
                    ErrorCode.CHECKSUM_MISMATCH,
                    f"{algorithm} of bytes read {digest} != source's {reported}",
                )
            if verify:
                check_cancel()
                scope = ErrorScope.DESTINATION
                landed_sum = dst.checksum(temp, algorithm)
                verified = "destination checksum"
                if landed_sum is None:
                    landed_sum, landed_size = read_back(
                        dst, temp, algorithm, chunk_size, transferred
                    )
                    _check_size(transferred, temp, landed_size)
                    verified = "read back"
                if normalize_value(algorithm, landed_sum) != digest:
                    raise TransferError(
                        ErrorCode.CHECKSUM_MISMATCH,
                        f"{algorithm} at destination {landed_sum} != source {digest}",
                    )
            else:
                verified = "size only (verify off)"
        scope = ErrorScope.DESTINATION
        if landed_size is None:  # not read back: ask the storage
            _check_size(transferred, temp, dst.stat(temp).size)
        check_cancel()
        publish(dst, temp, dst_path, overwrite)
    except TransferError as exc:
        _discard(dst, writer, temp)
        _forget_dir(dirs, dst_path, exc)
        if exc.code is not ErrorCode.CANCELLED:
            exc.with_scope(scope)
        raise
    except BaseException as exc:
        _discard(dst, writer, temp)
        _forget_dir(dirs, dst_path, None)
        if isinstance(exc, Exception):
            raise _scoped(scope, exc, "copying") from exc
        raise
    reporter.update(transferred, final=True)
    return CopyResult(
        bytes=transferred, checksum=digest, algorithm=algorithm or "none", verified=verified
    )
