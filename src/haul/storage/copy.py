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
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from haul.domain.errors import ErrorCode, ErrorScope, TransferError
from haul.storage._base import Entry, Storage, normpath, parent
from haul.storage.checksums import Hasher, new_hasher, normalize_algorithm
from haul.storage.chunks import chunk_reader
from haul.storage.expectation import Expectation
from haul.storage.progress import Progress, Reporter
from haul.storage.publish import publish
from haul.storage.scopes import in_scope
from haul.storage.temporaries import temp_name_for
from haul.storage.verification import RECEIPT, check_size, verify_copy

DEFAULT_CHUNK_SIZE = 256 * 1024


@dataclass(frozen=True)
class CopyResult:
    bytes: int
    checksum: str | None
    algorithm: str
    # How the destination was checked: "destination checksum" (the storage
    # computed it), "upload receipt: ..." (the storage confirmed the bytes it
    # received, e.g. S3's CRC32), "read back", or "size only".
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
        if self.verified.startswith(RECEIPT):
            return (
                f"destination verified: {self.algorithm} of the bytes sent, which the "
                f"destination confirmed by {self.verified[len(RECEIPT) :]}, no read back"
            )
        return f"destination verified: {self.verified}"


def _forget_dir(dirs: set[str] | None, dst_path: str, exc: BaseException) -> None:
    """After a failure the destination directory is checked afresh next time."""
    if dirs is not None and not (isinstance(exc, TransferError) and exc.code in _KEEPS_DIRS):
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


def _open_source(src: Storage, path: str, listed_size: int | None) -> tuple[BinaryIO, Entry]:
    """The source stream and its stat, in one call where the backend can;
    with `listed_size`, where the backend can trust it (`open_listed`), no stat."""
    listed = getattr(src, "open_listed", None) if listed_size is not None else None
    if listed is not None:
        return listed(path, listed_size)  # type: ignore[no-any-return]
    opener = getattr(src, "open_sized", None)
    if opener is not None:
        return opener(path)
    entry = src.stat(path)  # a Storage that is not a BaseStorage
    if entry.is_dir:
        raise TransferError(ErrorCode.IS_A_DIRECTORY, f"{path}: is a directory")
    return src.open_read(path), entry


def _close(stream: BinaryIO | None) -> None:
    if stream is not None:
        with contextlib.suppress(Exception):  # closing what we only read from
            stream.close()


# The steps' sides; before any byte moves a foreign failure is "preparing copy".
_PREPARING_SOURCE = in_scope(ErrorScope.SOURCE, "preparing copy")
_PREPARING_DESTINATION = in_scope(ErrorScope.DESTINATION, "preparing copy")
_READING = in_scope(ErrorScope.SOURCE)
_WRITING = in_scope(ErrorScope.DESTINATION)


def _canceller(cancelled: Callable[[], bool] | None) -> Callable[[], None]:
    """A check that raises CANCELLED (scope TRANSFER: nobody's fault) once `cancelled` says so."""
    is_cancelled = cancelled or (lambda: False)

    def check_cancel() -> None:
        if is_cancelled():
            raise TransferError(ErrorCode.CANCELLED, "copy cancelled", scope=ErrorScope.TRANSFER)

    return check_cancel


def checked_algorithm(checksum: str) -> str | None:
    """The normalised algorithm (None for no checksum); an unknown one is INVALID."""
    try:
        return normalize_algorithm(checksum)
    except ValueError as exc:
        raise TransferError(ErrorCode.INVALID, str(exc), scope=ErrorScope.TRANSFER) from exc


def _open_checked_source(
    src: Storage, src_path: str, expect: Expectation | None, listed_size: int | None
) -> tuple[BinaryIO, Entry]:
    """Step 1, the source: opened first, since where the open answers the size
    (XRootD, S3, local) the stat a copy needs costs no round trip of its own."""
    reader, source = _open_source(src, src_path, listed_size)
    try:
        if expect is not None:
            expect.check_size(src_path, source.size)
    except BaseException:
        _close(reader)
        raise
    return reader, source


def _prepare_destination(
    dst: Storage, dst_path: str, overwrite: bool, parents: bool, dirs: set[str] | None
) -> None:
    """Step 2, the destination: not a directory, not to be replaced unless
    `overwrite`, its directory made (once per `dirs`)."""
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


def _stream(
    writer: BinaryIO,
    hasher: Hasher | None,
    chunks: Callable[[], bytes],
    check_cancel: Callable[[], None],
    reporter: Reporter,
) -> int:
    """Step 4, the bytes: read (the source's side), hashed, written (the
    destination's); answers how many moved. The temporary is closed, so
    committed, at the end."""
    transferred = 0
    while True:
        with _WRITING:
            check_cancel()
        with _READING:
            chunk = chunks()
            if not chunk:
                break
            if hasher is not None:
                hasher.update(chunk)
        with _WRITING:
            view = memoryview(chunk)
            while view:
                written = writer.write(view)
                view = view[written if written is not None else len(view) :]
            transferred += len(chunk)
            reporter.update(transferred)
    with _WRITING:
        check_cancel()
        writer.close()
    return transferred


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
    listed_size: int | None = None,
) -> CopyResult:
    """Copy one file; raises TransferError scoped SOURCE, DESTINATION or TRANSFER.

    The steps, each scoped to its side (`scopes.in_scope`): open the source,
    prepare the destination, open the temporary, stream and checksum,
    verify, publish. Any failure after the temporary is opened removes it.

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

    `listed_size`: the size the job's LIST saw, a hint (unlike `expect`). A
    backend that would stat only to plan its reads (SFTP's `open_listed`)
    plans them by it and spares a request per file. A file changed since
    then reads to another size: it is copied again at once, planned by its
    stat, so a stale listing costs a second read, never a failed attempt.
    """
    if expect is not None and expect.size is not None:
        listed_size = None  # an expected size is checked against the file itself
    same = functools.partial(
        _copy,
        src,
        src_path,
        dst,
        dst_path,
        checksum=checksum,
        overwrite=overwrite,
        verify=verify,
        progress=progress,
        cancelled=cancelled,
        chunk_size=chunk_size,
        parents=parents,
        temp_tag=temp_tag,
        dirs=dirs,
        expect=expect,
    )
    if listed_size is not None:
        try:
            return same(listed_size)
        except TransferError as exc:
            if exc.code is not ErrorCode.SIZE_MISMATCH or exc.scope is not ErrorScope.SOURCE:
                raise
    return same(None)


def _copy(
    src: Storage,
    src_path: str,
    dst: Storage,
    dst_path: str,
    listed_size: int | None,
    *,
    checksum: str,
    overwrite: bool,
    verify: bool,
    progress: Callable[[Progress], None] | None,
    cancelled: Callable[[], bool] | None,
    chunk_size: int,
    parents: bool,
    temp_tag: str | None,
    dirs: set[str] | None,
    expect: Expectation | None,
) -> CopyResult:
    """`copy_file` once, its source's reads planned by `listed_size` where given."""
    algorithm = checked_algorithm(checksum)
    check_cancel = _canceller(cancelled)
    with _PREPARING_SOURCE:
        src_path = normpath(src_path)
        reader, source = _open_checked_source(src, src_path, expect, listed_size)
    try:
        with _PREPARING_SOURCE:  # its own checksum, asked now where it can be, to overlap the read
            soon = getattr(src, "checksum_soon", None) if algorithm else None
            source_sum = soon(src_path, algorithm) if soon is not None else None
        with _PREPARING_DESTINATION:
            dst_path = normpath(dst_path)
            _prepare_destination(dst, dst_path, overwrite, parents, dirs)
            check_cancel()
    except BaseException:
        _close(reader)
        raise

    temp = temp_name_for(dst_path, temp_tag)
    writer: BinaryIO | None = None
    reporter = Reporter(progress)
    hasher = new_hasher(algorithm) if algorithm else None
    try:
        try:
            with _WRITING:  # step 3, the temporary
                writer = _open_temp(dst, temp, dirs if parents else None)
                reuse = bool(getattr(dst, "reusable_write_buffers", False))
                chunks = chunk_reader(reader, chunk_size, reuse=reuse, expect=source.size)
            transferred = _stream(writer, hasher, chunks, check_cancel, reporter)
        finally:
            _close(reader)  # the data is already read
        checked = verify_copy(
            src,
            src_path,
            dst,
            temp,
            size=source.size,
            transferred=transferred,
            hasher=hasher,
            algorithm=algorithm,
            verify=verify,
            expect=expect,
            chunk_size=chunk_size,
            check_cancel=check_cancel,
            receipt=getattr(writer, "receipt", None),
            source_sum=source_sum,
        )
        with _WRITING:  # step 6, publish
            if checked.landed_size is None:  # not read back: ask the storage
                check_size(transferred, temp, dst.stat(temp).size)
            check_cancel()
            publish(dst, temp, dst_path, overwrite)
    except BaseException as exc:
        _discard(dst, writer, temp)
        _forget_dir(dirs, dst_path, exc)
        raise
    reporter.update(transferred, final=True)
    return CopyResult(
        bytes=transferred,
        checksum=checked.digest,
        algorithm=algorithm or "none",
        verified=checked.verified,
    )
