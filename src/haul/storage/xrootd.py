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

import contextlib
import io
import os
from collections.abc import Iterator
from typing import Any, BinaryIO, NoReturn
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
from haul.storage._base import BaseStorage, Entry, WriteStream, basename, join, normpath, parent
from haul.storage._registry import DIRECT, SiteAccess
from haul.storage.network_policy import url_host

_TIMEOUT = 60  # seconds per request; XRootD's default (1800) hides dead servers
# The URL option restricting the client's security protocols; "none" names none.
_NO_AMBIENT_IDENTITY = "xrd.wantprot=none"

# XRootD's client retries a dead server for minutes by default; haul retries
# whole attempts itself, so fail fast unless the operator set XRD_* already.
for _name, _value in (("ConnectionWindow", 10), ("ConnectionRetry", 1), ("RequestTimeout", 120)):
    if f"XRD_{_name.upper()}" not in os.environ:
        xrd.EnvPutInt(_name, _value)

# XRootD protocol error numbers (XProtocol.hh) carried with errErrorResponse.
_SERVER_ERRNO: dict[int, ErrorCode] = {
    3000: ErrorCode.INVALID,
    3003: ErrorCode.CONNECTION,  # file locked: may clear
    3005: ErrorCode.INTERNAL,
    3007: ErrorCode.INTERNAL,
    3009: ErrorCode.NO_SPACE,
    3010: ErrorCode.PERMISSION_DENIED,
    3011: ErrorCode.NOT_FOUND,
    3012: ErrorCode.INTERNAL,
    3013: ErrorCode.UNSUPPORTED,
    3014: ErrorCode.CONNECTION,
    3015: ErrorCode.IS_A_DIRECTORY,
    3016: ErrorCode.IS_A_DIRECTORY,
    3017: ErrorCode.CANCELLED,
    3018: ErrorCode.EXISTS,
    3019: ErrorCode.CHECKSUM_MISMATCH,
    3021: ErrorCode.NO_SPACE,
    3024: ErrorCode.CONNECTION,
    3025: ErrorCode.PERMISSION_DENIED,
    3030: ErrorCode.NO_CREDENTIAL,
    3034: ErrorCode.TIMEOUT,
    3035: ErrorCode.TIMEOUT,
}
_CLIENT_CODE: dict[int, ErrorCode] = {
    103: ErrorCode.TIMEOUT,
    206: ErrorCode.TIMEOUT,
    203: ErrorCode.NO_CREDENTIAL,
    204: ErrorCode.NO_CREDENTIAL,
    304: ErrorCode.NOT_FOUND,
    305: ErrorCode.CHECKSUM_MISMATCH,
}
_ERROR_RESPONSE = 400


def _translate(status: Any, path: str) -> TransferError:
    code_num = int(getattr(status, "code", 0) or 0)
    errno = int(getattr(status, "errno", 0) or 0)
    message = f"{path}: {str(getattr(status, 'message', '')).strip()}"
    if code_num == _ERROR_RESPONSE:
        code = _SERVER_ERRNO.get(errno, ErrorCode.INTERNAL)
    elif code_num in _CLIENT_CODE:
        code = _CLIENT_CODE[code_num]
    elif 100 <= code_num < 300:
        code = ErrorCode.CONNECTION  # socket and session errors
    else:
        code = ErrorCode.INTERNAL
    return TransferError(code, message)


def _ok(status: Any, path: str) -> None:
    if not status.ok:
        raise _translate(status, path)


def _fail(status: Any, path: str) -> NoReturn:
    raise _translate(status, path)


class _Reader(io.RawIOBase):
    def __init__(self, handle: xrd.File, path: str) -> None:
        super().__init__()
        self._handle = handle
        self._path = path
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        status, data = self._handle.read(self._offset, len(b), timeout=_TIMEOUT)
        _ok(status, self._path)
        n = len(data)
        b[:n] = data
        self._offset += n
        return n

    def close(self) -> None:
        if not self.closed:
            try:
                self._handle.close(timeout=_TIMEOUT)
            finally:
                super().close()


class _Writer(WriteStream):
    def __init__(self, handle: xrd.File, path: str) -> None:
        super().__init__()
        self._handle = handle
        self._path = path
        self._offset = 0

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        data = bytes(b)
        if data:
            status, _ = self._handle.write(data, self._offset, timeout=_TIMEOUT)
            _ok(status, self._path)
            self._offset += len(data)
        return len(data)

    def close(self) -> None:
        if self.closed:
            return
        try:
            status, _ = self._handle.close(timeout=_TIMEOUT)
            _ok(status, self._path)
        finally:
            super().close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # giving up anyway
            self._handle.close(timeout=_TIMEOUT)
        WriteStream.close(self)


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
        entry = self.stat(path)
        if entry.is_dir:
            raise TransferError(ErrorCode.IS_A_DIRECTORY, f"{entry.path}: is a directory")
        handle = xrd.File()
        status, _ = handle.open(self._url(entry.path), OpenFlags.READ, timeout=_TIMEOUT)
        _ok(status, entry.path)
        return io.BufferedReader(_Reader(handle, entry.path), 1024 * 1024)  # type: ignore[return-value]

    def open_write(self, path: str) -> BinaryIO:
        path = normpath(path)
        handle = xrd.File()
        mode = AccessMode.UR | AccessMode.UW | AccessMode.GR | AccessMode.OR
        status, _ = handle.open(self._url(path), OpenFlags.DELETE, mode, timeout=_TIMEOUT)
        _ok(status, path)
        return _Writer(handle, path)  # type: ignore[return-value]

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
        if not status.ok or not answer:
            return None
        text = answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
        name, _, value = text.strip("\x00 \n").partition(" ")
        if name.lower() != algorithm.lower() or not value:
            return None
        return value.strip("\x00 \n").lower()

    def close(self) -> None:
        self._fs = None  # type: ignore[assignment]
