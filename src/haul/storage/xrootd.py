"""`root://` backend over the XRootD project's own Python bindings (`xrootd`).

URL: `root://host[:port]//abs/prefix` (the double slash is XRootD's: the path
after the host is absolute). Paths given to the storage are those absolute
paths. Credential: optional `{"token"}`, sent as the `authz=Bearer ...` CGI
element XRootD's token authorisation (ZTN/SciTokens) reads.

Checksums come from the server (`kXR_query` checksum), which XRootD computes
near the data; the server must be configured with `xrootd.chksum`.

No ambient identity: every URL carries `xrd.wantprot=none`, the client's own
per-URL list of security protocols it may use, naming none. So the worker
never authenticates to a site with its own X.509 proxy, Kerberos ticket,
bearer token, sss keytab or unix/host identity (all of which the XRootD
client would otherwise pick up from the environment or default files); it
connects anonymously and sends only the lease's token, as `authz`. Servers
that demand a security protocol answer with an authentication error.

Network policy: the host is resolved here and the client is given a checked
IP literal. Gap: redirects (a redirector sending the client to a data server)
are followed inside the XRootD client and are not checked.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO
from urllib.parse import quote, urlsplit

from XRootD import client as xrd
from XRootD.client.flags import (
    AccessMode,
    DirListFlags,
    MkDirFlags,
    OpenFlags,
    QueryCode,
    StatInfoFlags,
)

from haul.domain.errors import ErrorCode, TransferError
from haul.storage._base import BaseStorage, Entry, basename, join, normpath, parent
from haul.storage._xrootd_status import fail as _fail
from haul.storage._xrootd_status import ok as _ok
from haul.storage._xrootd_streams import Answer, Reader, Writer
from haul.storage._xrootd_tpc import advertises_tpc
from haul.storage._xrootd_tpc import pull as tpc_pull
from haul.storage.network_policy import url_host
from haul.storage.site_access import DIRECT, SiteAccess

_TIMEOUT = 60  # seconds per request; XRootD's default (1800) hides dead servers
# The URL option restricting the client's security protocols; "none" names none.
_NO_AMBIENT_IDENTITY = "xrd.wantprot=none"

# XRootD's client retries a dead server for minutes by default; haul retries
# whole attempts itself, so fail fast unless the operator set XRD_* already.
for _name, _value in (("ConnectionWindow", 10), ("ConnectionRetry", 1), ("RequestTimeout", 120)):
    if f"XRD_{_name.upper()}" not in os.environ:
        xrd.EnvPutInt(_name, _value)


class XRootDStorage(BaseStorage):
    def __init__(self, url: str, credential: dict[str, Any], access: SiteAccess = DIRECT) -> None:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = parts.port or 1094
        address = access.network.addresses(host, port)[0]
        self._server = f"{parts.scheme}://{url_host(address)}:{port}"
        token = credential.get("token")
        opaque = [_NO_AMBIENT_IDENTITY]
        if token:
            opaque.append(f"authz={quote('Bearer ' + str(token))}")
        self._opaque = "?" + "&".join(opaque)
        self._fs = xrd.FileSystem(f"{self._server}/{self._opaque}")
        self.has_token = bool(token)
        self._tpc: bool | None = None  # whether the server does third-party copies

    def _p(self, path: str) -> str:
        """Path with the authorisation opaque, as XRootD requests take it."""
        return path + self._opaque

    def _url(self, path: str) -> str:
        return f"{self._server}/{path}{self._opaque}"

    def _entry(self, path: str, info: Any) -> Entry:
        is_dir = bool(info.flags & StatInfoFlags.IS_DIR)
        mtime = float(info.modtime) if getattr(info, "modtime", None) else None
        return Entry(path, basename(path), is_dir, 0 if is_dir else int(info.size), mtime)

    def stat(self, path: str) -> Entry:
        path = normpath(path)
        status, info = self._fs.stat(self._p(path), timeout=_TIMEOUT)
        _ok(status, path)
        return self._entry(path, info)

    def _scandir(self, path: str) -> Iterator[Entry]:
        status, listing = self._fs.dirlist(self._p(path), DirListFlags.STAT, timeout=_TIMEOUT)
        _ok(status, path)
        for item in listing:
            if item.name in (".", ".."):
                continue
            yield self._entry(join(path, item.name), item.statinfo)

    def open_read(self, path: str) -> BinaryIO:
        return self.open_sized(path)[0]

    def open_sized(self, path: str) -> tuple[BinaryIO, Entry]:
        # One round trip: the open's answer carries the file's stat, so no
        # separate stat first (a directory fails the open with errno 3016).
        path = normpath(path)
        handle = xrd.File()
        status, _ = handle.open(self._url(path), OpenFlags.READ, timeout=_TIMEOUT)
        _ok(status, path)
        status, info = handle.stat(timeout=_TIMEOUT)  # cached from the open
        if not status.ok or info is None:
            handle.close(timeout=_TIMEOUT)
            _fail(status, path)
        reader = Reader(handle, path, int(info.size), _TIMEOUT)
        return reader, self._entry(path, info)  # type: ignore[return-value]

    def open_write(self, path: str) -> BinaryIO:
        path = normpath(path)
        handle = xrd.File()
        mode = AccessMode.UR | AccessMode.UW | AccessMode.GR | AccessMode.OR
        status, _ = handle.open(self._url(path), OpenFlags.DELETE, mode, timeout=_TIMEOUT)
        _ok(status, path)
        return Writer(handle, path, _TIMEOUT)  # type: ignore[return-value]

    def mkdir(self, path: str, parents: bool = True) -> None:
        path = normpath(path)
        if self._is_existing_dir(path):
            return
        if not parents and not self.exists(parent(path)):
            raise TransferError(ErrorCode.NOT_FOUND, f"{parent(path)}: no such directory")
        flags = MkDirFlags.MAKEPATH if parents else MkDirFlags.NONE
        mode = AccessMode.UR | AccessMode.UW | AccessMode.UX | AccessMode.GR | AccessMode.GX
        mode |= AccessMode.OR | AccessMode.OX
        status, _ = self._fs.mkdir(self._p(path), flags, mode, timeout=_TIMEOUT)
        if not status.ok:
            if self.exists(path) and self.stat(path).is_dir:
                return  # created concurrently
            _fail(status, path)

    def remove(self, path: str) -> None:
        entry = self.stat(path)
        if entry.is_dir:
            if any(True for _ in self._scandir(entry.path)):
                raise TransferError(ErrorCode.NOT_EMPTY, f"{entry.path}: directory not empty")
            status, _ = self._fs.rmdir(self._p(entry.path), timeout=_TIMEOUT)
        else:
            status, _ = self._fs.rm(self._p(entry.path), timeout=_TIMEOUT)
        _ok(status, entry.path)

    def rename(self, src: str, dst: str) -> None:
        src, dst = normpath(src), normpath(dst)
        status, _ = self._fs.mv(self._p(src), self._p(dst), timeout=_TIMEOUT)
        _ok(status, src)

    def checksum(self, path: str, algorithm: str) -> str | None:
        path = normpath(path)
        status, answer = self._fs.query(QueryCode.CHECKSUM, self._p(path), timeout=_TIMEOUT)
        return _checksum_answer(status, answer, algorithm)

    def checksum_soon(self, path: str, algorithm: str) -> Callable[[], str | None]:
        """Asks for the checksum now and answers it when called: the copy engine
        asks as soon as the source is open, so the query's round trip (and the
        server's computing) overlaps the read instead of following it."""
        answer = Answer()
        sent = self._fs.query(
            QueryCode.CHECKSUM, self._p(normpath(path)), timeout=_TIMEOUT, callback=answer
        )
        if not sent.ok:
            return lambda: None

        def result() -> str | None:
            if not answer.wait(_TIMEOUT + 5):
                return None
            return _checksum_answer(answer.status, answer.data, algorithm)

        return result

    # -- third-party copy (used by haul.storage.third_party) ---------------------
    # Algorithms the destination checks while it pulls (`tpc.cks`, _xrootd_tpc):
    # those its copy program, xrdcp, computes as it writes.
    pull_checks = frozenset({"adler32"})

    def third_party_refusal(self, source: object) -> str | None:
        """Why this server cannot pull `source`'s files itself; None when it can."""
        if not isinstance(source, XRootDStorage):
            return "the source does not speak XRootD"
        if source.has_token:
            # XRootD TPC hands the source's CGI, authz included, to the destination.
            return "it would hand the source's token to the destination server"
        for side, storage in (("source", source), ("destination", self)):
            if storage._tpc is None:
                storage._tpc = advertises_tpc(storage._fs, _TIMEOUT)
            if not storage._tpc:
                return f"the {side} server ({storage._server}) has no TPC enabled"
        return None

    def pull(
        self,
        source: XRootDStorage,
        src_path: str,
        path: str,
        progress: Callable[[int, int], None] | None,
        cancelled: Callable[[], bool],
        checksum: tuple[str, str] | None = None,
    ) -> None:
        """This server copies `src_path` from `source` to `path`; no byte passes here.
        With `checksum` (an algorithm of `pull_checks`, the source's value) it
        checks the bytes against it as it writes them."""
        src_path, path = normpath(src_path), normpath(path)
        tpc_pull(
            (source._server, src_path, source._opaque),
            (self._server, path, self._opaque),
            timeout=_TIMEOUT,
            progress=progress,
            cancelled=cancelled,
            checksum=checksum,
        )

    def describe(self) -> str:
        return self._server

    def close(self) -> None:
        self._fs = None  # type: ignore[assignment]


def _checksum_answer(status: Any, answer: Any, algorithm: str) -> str | None:
    """A checksum query's answer ("adler32 0a1b2c3d"), None if it is not of `algorithm`."""
    if not status.ok or not answer:
        return None
    text = answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
    name, _, value = text.strip("\x00 \n").partition(" ")
    if name.lower() != algorithm.lower() or not value:
        return None
    return value.strip("\x00 \n").lower()
