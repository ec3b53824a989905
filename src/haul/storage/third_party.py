"""Third-party copy: the destination server fetches the file from the source
server itself, so the bytes never pass through the worker.

Chosen per copy, automatically: when both ends are the same protocol and the
destination backend can pull (`pull` and `third_party_refusal`; XRootD's
`ofs.tpc` today), and the backend finds nothing against it (TPC not enabled
on a server, a source token the destination would receive). Otherwise, or
when the attempt fails, `third_party_copy` answers None and the caller
streams through the worker; the attempt log says which happened and why.

The copy keeps the copy engine's guarantees: it lands under the hidden
temporary name, its size is checked and its checksum compared with the
source's, both as the servers report them (neither trip reads the file back
through the worker, unless the destination reports no checksum), and only
then is it renamed into place. Where the destination can check the source's
checksum while it pulls (`pull_checks`, XRootD's `tpc.cks`), it is handed
the value and checks the bytes as it writes them, so it need not read the
new file again for a checksum query afterwards; a copy whose bytes differ
fails there, and is streamed through the worker instead.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from haul.domain.errors import ErrorCode, ErrorScope, TransferError
from haul.storage._base import Storage, normpath, parent
from haul.storage.checksums import normalize_value
from haul.storage.copy import DEFAULT_CHUNK_SIZE, CopyResult, checked_algorithm
from haul.storage.progress import Progress
from haul.storage.publish import publish
from haul.storage.scopes import in_scope
from haul.storage.temporaries import temp_name_for
from haul.storage.verification import RECEIPT, read_back


@runtime_checkable
class Pulling(Protocol):
    """A backend whose server can fetch a file from another server of its kind."""

    def third_party_refusal(self, source: object) -> str | None: ...

    def pull(
        self,
        source: Any,
        src_path: str,
        path: str,
        progress: Callable[[int, int], None] | None,
        cancelled: Callable[[], bool],
        checksum: tuple[str, str] | None = None,
    ) -> None: ...

    def describe(self) -> str: ...


_PULLS: dict[type, bool] = {}


def pulls(kind: type) -> bool:
    """Whether backend class `kind` is `Pulling`, answered once per class: a
    runtime Protocol check inspects every member, and every copy asks."""
    known = _PULLS.get(kind)
    if known is None:
        known = _PULLS[kind] = issubclass(kind, Pulling)
    return known


def third_party_copy(
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
    temp_tag: str | None = None,
    say: Callable[[str], None] = lambda _line: None,
) -> CopyResult | None:
    """Copies server to server and answers the result, or None: stream instead."""
    if type(src) is not type(dst) or not pulls(type(dst)):
        return None  # different protocols: nothing to decide, nothing to log
    is_cancelled = cancelled or (lambda: False)
    algorithm = checked_algorithm(checksum)
    why = dst.third_party_refusal(src)
    if why is None and algorithm is not None:
        with _SOURCE:
            src_sum = src.checksum(normpath(src_path), algorithm)
        if src_sum is None:
            why = f"the source server reports no {algorithm} to verify the copy against"
    else:
        src_sum = None
    if why is not None:
        say(f"third-party copy not possible: {why}; streaming through the worker")
        return None

    src_path, dst_path = normpath(src_path), normpath(dst_path)
    size = _prepare(src, src_path, dst, dst_path, overwrite)
    temp = temp_name_for(dst_path, temp_tag)
    started = time.monotonic()

    def moved(done: int, _total: int) -> None:
        if progress is not None:
            elapsed = time.monotonic() - started
            rate = done / elapsed if elapsed > 0 else 0.0
            progress(Progress(done, elapsed, rate, rate))

    say(f"third-party copy: {dst.describe()} pulls {src_path} from {src.describe()}")  # type: ignore[attr-defined]
    checks = _checked_as_pulled(dst, algorithm, src_sum, verify)
    try:
        dst.pull(src, src_path, temp, moved, is_cancelled, checksum=checks)
    except TransferError as exc:
        _remove(dst, temp)
        if exc.code is ErrorCode.CANCELLED or is_cancelled():
            raise TransferError(ErrorCode.CANCELLED, "copy cancelled") from None
        say(f"third-party copy failed: {exc.message}; streaming through the worker")
        return None
    try:
        with _DESTINATION:
            digest, verified = _verify(
                dst, temp, size, algorithm, src_sum, verify, say, checked=checks is not None
            )
            if is_cancelled():
                raise TransferError(ErrorCode.CANCELLED, "copy cancelled")
            publish(dst, temp, dst_path, overwrite)  # the engine's rule: never replaces
    except TransferError:
        _remove(dst, temp)
        raise
    moved(size, size)
    say(f"third-party copy done: {size} bytes server to server, none through this worker")
    return CopyResult(bytes=size, checksum=digest, algorithm=algorithm or "none", verified=verified)


# Sides of a server-to-server copy; foreign exceptions pass through as they are.
_SOURCE = in_scope(ErrorScope.SOURCE, None)
_DESTINATION = in_scope(ErrorScope.DESTINATION, None)


def _prepare(src: Storage, src_path: str, dst: Storage, dst_path: str, overwrite: bool) -> int:
    """The copy engine's checks before any byte moves; answers the source's size."""
    with _SOURCE:
        source = src.stat(src_path)
    if source.is_dir:
        raise TransferError(
            ErrorCode.IS_A_DIRECTORY, f"{src_path}: is a directory", scope=ErrorScope.SOURCE
        )

    with _DESTINATION:
        if dst.exists(dst_path):
            if dst.stat(dst_path).is_dir:
                raise TransferError(ErrorCode.IS_A_DIRECTORY, f"{dst_path}: is a directory")
            if not overwrite:
                raise TransferError(
                    ErrorCode.EXISTS, f"{dst_path}: exists and overwrite is off", retryable=False
                )
        if not dst.exists(parent(dst_path)):
            dst.mkdir(parent(dst_path), parents=True)
    return int(source.size)


_HEX = re.compile(r"[0-9a-f]+")
# CopyResult.verified of a copy the destination checked as it pulled.
CHECKED_AS_PULLED = RECEIPT + "its own check while it pulled"


def _checked_as_pulled(
    dst: Storage, algorithm: str | None, src_sum: str | None, verify: bool
) -> tuple[str, str] | None:
    """(algorithm, the source's value) for the destination to check while it
    pulls, where it can; None: it is asked for its checksum afterwards."""
    if not verify or algorithm is None or src_sum is None:
        return None
    if algorithm not in getattr(dst, "pull_checks", ()):
        return None
    value = normalize_value(algorithm, src_sum)
    # The value rides in the destination's URL: only a checksum's digits, never CGI.
    return (algorithm, value) if _HEX.fullmatch(value) else None


def _verify(
    dst: Storage,
    temp: str,
    size: int,
    algorithm: str | None,
    src_sum: str | None,
    verify: bool,
    say: Callable[[str], None],
    checked: bool = False,
) -> tuple[str | None, str]:
    """The copy's checksum and how the destination was checked (CopyResult.verified);
    `checked`: the destination compared the source's checksum while it pulled."""
    landed = dst.stat(temp)
    if landed.size != size:
        raise TransferError(
            ErrorCode.SIZE_MISMATCH, f"the source has {size} bytes but {temp} has {landed.size}"
        )
    if algorithm is None or src_sum is None:
        say("destination verified: size only (checksum none)")
        return None, "size only"
    expected = normalize_value(algorithm, src_sum)
    if not verify:
        say(f"destination not verified (verify off); source {algorithm} {expected}")
        return expected, "size only (verify off)"
    if checked:
        say(
            f"destination verified: {algorithm} {expected} by the destination server "
            "as it wrote the copy (tpc.cks), no checksum query, no read back"
        )
        return expected, CHECKED_AS_PULLED
    reported = dst.checksum(temp, algorithm)
    how = "by the destination server's checksum query, no read back"
    verified = "destination checksum"
    if reported is None:
        reported, _ = read_back(dst, temp, algorithm, DEFAULT_CHUNK_SIZE, size)
        how, verified = "by reading it back through the worker", "read back"
    if normalize_value(algorithm, reported) != expected:
        raise TransferError(
            ErrorCode.CHECKSUM_MISMATCH,
            f"{algorithm} at destination {reported} != source {expected}",
        )
    say(f"destination verified: {algorithm} {expected} {how}")
    return expected, verified


def _remove(dst: Storage, temp: str) -> None:
    with contextlib.suppress(Exception):  # e.g. never created; the copy's error matters
        dst.remove(temp)
