"""XRootD third-party copy: the destination server pulls the file from the source.

The worker only arranges it, with the bindings' `CopyProcess` in
`thirdparty="only"` mode: it opens the source (which hands out a rendezvous
key) and the destination (which is told the source and the key and starts
its own copy program, `ofs.tpc pgm`), then waits. No file byte reaches the
worker, so the worker's own link and CPU are not in the way.

Both servers must have TPC enabled (`ofs.tpc`); a server says so in its
`kXR_query config tpc` answer (a version number; a server without TPC echoes
the word back). Both URLs carry the checked IP literals and
`xrd.wantprot=none`, as every other XRootD request of the worker does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from XRootD import client as xrd
from XRootD.client.flags import QueryCode
from XRootD.client.utils import CopyProgressHandler

from haul.domain.errors import ErrorCode, TransferError
from haul.storage._xrootd_status import ok, translate

# A TPC that makes no progress for this long fails (the bindings' default is 30 min).
TPC_TIMEOUT = 600


def advertises_tpc(fs: xrd.FileSystem, timeout: int) -> bool:
    status, answer = fs.query(QueryCode.CONFIG, "tpc", timeout=timeout)
    if not status.ok or not answer:
        return False
    text = answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
    first = text.strip("\x00 \n").split("\n", 1)[0].strip()
    return first.isdigit() and int(first) > 0


class _Handler(CopyProgressHandler):  # type: ignore[misc]
    def __init__(
        self, progress: Callable[[int, int], None] | None, cancelled: Callable[[], bool]
    ) -> None:
        self._progress = progress
        self._cancelled = cancelled

    def begin(self, jobId: int, total: int, source: Any, target: Any) -> None:  # noqa: N803
        pass

    def end(self, jobId: int, results: Any) -> None:  # noqa: N803
        pass

    def update(self, jobId: int, processed: int, total: int) -> None:  # noqa: N803
        if self._progress is not None:
            self._progress(int(processed), int(total))

    def should_cancel(self, jobId: int) -> bool:  # noqa: N803
        return bool(self._cancelled())


def pull(
    source_url: str,
    target_url: str,
    target_path: str,
    *,
    progress: Callable[[int, int], None] | None,
    cancelled: Callable[[], bool],
) -> None:
    """Runs one third-party copy to completion; raises TransferError if it fails."""
    process = xrd.CopyProcess()
    process.add_job(
        source_url,
        target_url,
        force=True,  # the target is haul's own temporary name
        thirdparty="only",  # never stream through this process instead
        tpctimeout=TPC_TIMEOUT,
    )
    ok(process.prepare(), target_path)
    status, results = process.run(_Handler(progress, cancelled))
    job = results[0].get("status") if results else None
    if cancelled():
        raise TransferError(ErrorCode.CANCELLED, "copy cancelled")
    if job is not None and not job.ok:
        raise translate(job, target_path)
    if not status.ok:
        raise translate(status, target_path)
