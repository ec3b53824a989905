"""XRootD third-party copy: the destination server pulls the file from the source.

The worker drives XRootD's TPC rendezvous itself with the bindings' `File`
API, the steps XrdCl's copy job takes (`XrdClThirdPartyCopyJob`):

1. open the source for reading with `tpc.key` (a fresh random key),
   `tpc.dst` (who will pull) and `tpc.stage=copy`: the source now expects a
   reader presenting that key;
2. open the destination for writing with `tpc.src`, `tpc.key`, `tpc.lfn`
   (the source path), `tpc.stage=copy` and `oss.asize`, and with a checksum
   `tpc.cks=<type>:<value>`: the destination prepares a copy job running its
   `ofs.tpc pgm`;
3. `sync` the destination twice: the first starts the copy, the second is
   answered when it has ended (the server's asynchronous reply);
4. close both.

Why not the bindings' `CopyProcess(thirdparty="only")`: its copy job polls
for the end of the copy every 2.5 s, so every file, however small, took at
least 2.5 s (`xrdcp --tpc only` likewise); answered by the server, a small
file takes about 0.1 s. No file byte reaches the worker either way.

Verifying as it goes: `tpc.cks` is the TPC rendezvous's own checksum field
(XrdOucTPC); the destination hands it to its copy program as `-C type:value`
(XrdOfsTPCProg), and xrdcp then checksums the bytes as it writes them and
fails the copy ("[3005] CheckSum error") when they differ from the value.
So the source's checksum, asked before the copy, is checked against what
landed without the destination reading the new file again afterwards for a
checksum query (bench/RESULTS.md, "Large files: TPC verified as it goes,
WebDAV bodies read from the socket"). Trusted as the destination's checksum
query is trusted: its word. Gap: a site whose `ofs.tpc pgm` is its own
script that drops `-C` would publish the copy unchecked; XRootD's default
program, xrdcp, checks it (tests/storage/test_xrootd_tpc.py).

Both servers must have TPC enabled (`ofs.tpc`); a server says so in its
`kXR_query config tpc` answer (a version number; a server without TPC echoes
the word back, and would take step 2 as a plain write). Both URLs carry the
checked IP literals and `xrd.wantprot=none`, as every other XRootD request
of the worker does.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from XRootD import client as xrd
from XRootD.client.flags import AccessMode, OpenFlags, QueryCode

from haul.domain.errors import ErrorCode, TransferError
from haul.storage._xrootd_status import ok, translate
from haul.storage._xrootd_streams import Answer

# A third-party copy that has not ended after this long fails.
TPC_TIMEOUT = 3600
PROGRESS_SECONDS = 1.0  # how often the destination's size is asked while it copies


def advertises_tpc(fs: xrd.FileSystem, timeout: int) -> bool:
    status, answer = fs.query(QueryCode.CONFIG, "tpc", timeout=timeout)
    if not status.ok or not answer:
        return False
    text = answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
    first = text.strip("\x00 \n").split("\n", 1)[0].strip()
    return first.isdigit() and int(first) > 0


def pull(
    source: tuple[str, str, str],
    target: tuple[str, str, str],
    *,
    timeout: int,
    progress: Callable[[int, int], None] | None,
    cancelled: Callable[[], bool],
    checksum: tuple[str, str] | None = None,
) -> None:
    """Runs one rendezvous; each end is (server URL, path, opaque), the opaque
    starting with "?". With `checksum` (algorithm, the source's value) the
    destination checks what it writes against it. Raises TransferError if
    the copy fails, a checksum that differs included."""
    (src_server, src_path, src_opaque), (dst_server, dst_path, dst_opaque) = source, target
    key = secrets.token_hex(16)
    puller = dst_server.split("://", 1)[1].rsplit(":", 1)[0]  # host the source will see
    src = xrd.File()
    status, _ = src.open(
        f"{src_server}/{src_path}{src_opaque}&tpc.key={key}&tpc.dst={puller}&tpc.stage=copy",
        OpenFlags.READ,
        timeout=timeout,
    )
    ok(status, src_path)
    dst = xrd.File()
    try:
        status, info = src.stat(timeout=timeout)  # from the open's answer
        ok(status, src_path)
        origin = src_server.split("://", 1)[1]
        cgi = f"tpc.src={origin}&tpc.key={key}&tpc.lfn={src_path}&tpc.stage=copy"
        if checksum is not None:
            cgi += f"&tpc.cks={checksum[0]}:{checksum[1]}"
        mode = AccessMode.UR | AccessMode.UW | AccessMode.GR | AccessMode.OR
        status, _ = dst.open(
            f"{dst_server}/{dst_path}{dst_opaque}&{cgi}&oss.asize={int(info.size)}",
            OpenFlags.DELETE,
            mode,
            timeout=timeout,
        )
        ok(status, dst_path)
        status, _ = dst.sync(timeout=timeout)  # starts the copy
        ok(status, dst_path)
        _wait(dst, dst_path, int(info.size), timeout, progress, cancelled)
        status, _ = dst.close(timeout=timeout)
        ok(status, dst_path)
    finally:
        if dst.is_open():
            dst.close(timeout=timeout)  # during a copy: the server abandons it
        src.close(timeout=timeout)


def _wait(
    dst: xrd.File,
    path: str,
    size: int,
    timeout: int,
    progress: Callable[[int, int], None] | None,
    cancelled: Callable[[], bool],
) -> None:
    ended = Answer()
    status = dst.sync(timeout=TPC_TIMEOUT, callback=ended)  # answered at the end
    ok(status, path)
    deadline = time.monotonic() + TPC_TIMEOUT + 5
    while not ended.wait(PROGRESS_SECONDS):
        if cancelled():
            raise TransferError(ErrorCode.CANCELLED, "copy cancelled")
        if time.monotonic() > deadline:
            raise TransferError(ErrorCode.TIMEOUT, f"{path}: third-party copy did not end")
        if progress is not None:
            status, info = dst.stat(force=True, timeout=timeout)
            if status.ok and info is not None:
                progress(int(info.size), size)
    if not ended.status.ok:
        raise translate(ended.status, path)
