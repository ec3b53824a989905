"""`sftp://` backend over paramiko.

URL: `sftp://[user@]host[:port]/prefix`. Credential: `{"username", "password"}`
or `{"username", "private_key"}` (PEM/OpenSSH text, optional "passphrase"),
optionally `"host_key"`: an OpenSSH public key line ("ssh-ed25519 AAAA...") the
server must present. Without it, the key pinned on the site (recorded by the
first successful connection, see `SiteAccess.host_key`) must match; with
neither, the key offered is accepted and exposed as `host_key` for the worker
to pin.

Only the lease's credential is used: the connection is made on a plain
`paramiko.Transport`, which never consults an ssh-agent, `~/.ssh` keys or
`known_hosts` of the worker's account.
"""

from __future__ import annotations

import contextlib
import io
import socket
import stat as stat_mod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, TypeVar
from urllib.parse import unquote, urlsplit

import paramiko

from haul.domain.errors import ErrorCode, TransferError
from haul.storage._base import BaseStorage, Entry, WriteStream, basename, join, normpath, parent
from haul.storage._errors import from_oserror
from haul.storage._registry import DIRECT, SiteAccess

_T = TypeVar("_T")
_CONNECT_TIMEOUT = 20.0
_KEY_TYPES: tuple[type[paramiko.PKey], ...] = (
    paramiko.Ed25519Key,
    paramiko.ECDSAKey,
    paramiko.RSAKey,
)


def _translate(exc: BaseException, path: str = "") -> TransferError:
    if isinstance(exc, TransferError):
        return exc
    if isinstance(exc, paramiko.AuthenticationException):
        return TransferError(ErrorCode.NO_CREDENTIAL, f"SSH authentication failed: {exc}")
    if isinstance(exc, paramiko.BadHostKeyException):
        return TransferError(ErrorCode.PERMISSION_DENIED, f"SSH host key mismatch: {exc}")
    if isinstance(exc, socket.timeout | TimeoutError):
        return TransferError(ErrorCode.TIMEOUT, f"{path}: timed out")
    if isinstance(exc, paramiko.SSHException | EOFError | ConnectionError | socket.error):
        if isinstance(exc, OSError) and exc.errno is not None:
            return from_oserror(exc, path)
        return TransferError(ErrorCode.CONNECTION, f"{path}: {type(exc).__name__}: {exc}")
    if isinstance(exc, OSError):
        return from_oserror(exc, path)
    return TransferError(ErrorCode.INTERNAL, f"{path}: {type(exc).__name__}: {exc}")


@contextmanager
def _translated(path: str) -> Iterator[None]:
    try:
        yield
    except TransferError:
        raise
    except Exception as exc:
        raise _translate(exc, path) from exc


def _load_key(text: str, passphrase: str | None) -> paramiko.PKey:
    last: Exception | None = None
    for key_type in _KEY_TYPES:
        try:
            return key_type.from_private_key(io.StringIO(text), password=passphrase)
        except (paramiko.SSHException, ValueError) as exc:
            last = exc
    raise TransferError(ErrorCode.NO_CREDENTIAL, f"unusable SSH private key: {last}")


class _Stream(WriteStream):
    """Wraps an SFTPFile so mid-stream failures arrive as TransferError."""

    def __init__(self, handle: paramiko.SFTPFile, path: str, writable: bool) -> None:
        super().__init__()
        self._handle = handle
        self._path = path
        self._writable = writable

    def _call(self, fn: Callable[[], _T]) -> _T:
        with _translated(self._path):
            return fn()

    def readable(self) -> bool:
        return not self._writable

    def writable(self) -> bool:
        return self._writable

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._call(lambda: self._handle.read(len(b)))
        b[: len(data)] = data
        return len(data)

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        data = bytes(b)
        self._call(lambda: self._handle.write(data))
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                self._call(self._handle.close)
            finally:
                super().close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # giving up anyway
            self._handle.close()
        super().close()


def _key_line(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.get_base64()}"


def _same_key(offered: paramiko.PKey, expected: str) -> bool:
    return expected.split()[:2] == [offered.get_name(), offered.get_base64()]


def _key_mismatch(access: SiteAccess, target: str, offered: str, explicit: bool) -> TransferError:
    site = access.site or target
    if explicit:
        hint = "the host_key in the credential for this site does not match"
    else:
        reset = (
            f"DELETE /site/api/v1.0/site/{access.site_id}/host_key"
            if access.site_id is not None
            else "DELETE /site/api/v1.0/site/<id>/host_key"
        )
        hint = (
            "it differs from the key pinned on the site at its first connection; if the "
            f"server's key really changed, the site's owner resets the pin ({reset}) or "
            "sets the new key (PUT on the same URL)"
        )
    return TransferError(
        ErrorCode.PERMISSION_DENIED,
        f"{site}: SSH host key of {target} is {offered}: {hint}",
        retryable=False,
    )


class SFTPStorage(BaseStorage):
    def __init__(self, url: str, credential: dict[str, Any], access: SiteAccess = DIRECT) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "localhost"
        self.port = parts.port or 22
        self.username = credential.get("username") or unquote(parts.username or "")
        if not self.username:
            raise TransferError(ErrorCode.NO_CREDENTIAL, f"no SSH username for {url}")
        password = credential.get("password") or (unquote(parts.password or "") or None)
        key_text = credential.get("private_key")
        pkey = _load_key(key_text, credential.get("passphrase")) if key_text else None
        if pkey is None and password is None:
            raise TransferError(ErrorCode.NO_CREDENTIAL, f"no SSH password or key for {url}")
        explicit = credential.get("host_key")
        expected = explicit or access.host_key
        target = f"{self.host}:{self.port}"
        # The key the server presented: the worker pins it on the site when none is.
        self.host_key: str | None = None
        self._transport: paramiko.Transport | None = None
        with _translated(target):
            sock = access.network.connect(self.host, self.port, _CONNECT_TIMEOUT)
            transport = paramiko.Transport(sock)
            self._transport = transport
            try:
                transport.start_client(timeout=_CONNECT_TIMEOUT)
                offered = transport.get_remote_server_key()
                if expected and not _same_key(offered, expected):
                    raise _key_mismatch(access, target, _key_line(offered), bool(explicit))
                self.host_key = _key_line(offered)
                if pkey is not None:
                    transport.auth_publickey(self.username, pkey)
                else:
                    transport.auth_password(self.username, password or "")
                sftp = paramiko.SFTPClient.from_transport(transport)
                if sftp is None:
                    raise TransferError(ErrorCode.CONNECTION, f"{target}: no SFTP channel")
                self._sftp = sftp
                self._sftp.get_channel().settimeout(_CONNECT_TIMEOUT * 3)  # type: ignore[union-attr]
            except BaseException:
                transport.close()
                raise

    def _entry(self, path: str, attrs: paramiko.SFTPAttributes) -> Entry:
        mtime = float(attrs.st_mtime) if attrs.st_mtime is not None else None
        if stat_mod.S_ISLNK(attrs.st_mode or 0):
            # READDIR and LSTAT describe a link itself; a link is never a directory here.
            try:
                target: str | None = self._sftp.readlink(path)
            except OSError:
                target = None
            return Entry(path, basename(path), False, 0, mtime, is_link=True, target=target)
        is_dir = stat_mod.S_ISDIR(attrs.st_mode or 0)
        size = 0 if is_dir else int(attrs.st_size or 0)
        return Entry(path, basename(path), is_dir, size, mtime)

    def stat(self, path: str) -> Entry:
        path = normpath(path)
        with _translated(path):
            return self._entry(path, self._sftp.stat(path))

    def lstat(self, path: str) -> Entry:
        path = normpath(path)
        with _translated(path):
            return self._entry(path, self._sftp.lstat(path))

    def realpath(self, path: str) -> str:
        path = normpath(path)
        with _translated(path):
            return self._sftp.normalize(path)

    def _scandir(self, path: str) -> list[Entry]:
        with _translated(path):
            return [self._entry(join(path, a.filename), a) for a in self._sftp.listdir_attr(path)]

    def open_read(self, path: str) -> BinaryIO:
        entry = self.stat(path)
        if entry.is_dir:
            raise TransferError(ErrorCode.IS_A_DIRECTORY, f"{entry.path}: is a directory")
        with _translated(entry.path):
            handle = self._sftp.open(entry.path, "rb")
            handle.prefetch(entry.size)
        return io.BufferedReader(_Stream(handle, entry.path, False), 1024 * 1024)  # type: ignore[return-value]

    def open_write(self, path: str) -> BinaryIO:
        path = normpath(path)
        with _translated(path):
            handle = self._sftp.open(path, "wb")
            handle.set_pipelined(True)
        return _Stream(handle, path, True)  # type: ignore[return-value]

    def mkdir(self, path: str, parents: bool = True) -> None:
        path = normpath(path)
        if self._is_existing_dir(path):
            return
        if parents and path != "/":
            self.mkdir(parent(path), parents=True)
        with _translated(path):
            try:
                self._sftp.mkdir(path)
            except OSError as exc:
                # SFTP's generic "Failure" hides EEXIST when a peer created it first.
                if exc.errno is None and self.exists(path) and self.stat(path).is_dir:
                    return
                if exc.errno is None and not self.exists(parent(path)):
                    raise TransferError(
                        ErrorCode.NOT_FOUND, f"{parent(path)}: no such directory"
                    ) from exc
                raise

    def remove(self, path: str) -> None:
        entry = self.lstat(path)  # a link is removed itself, never what it points to
        with _translated(entry.path):
            if entry.is_dir:
                if self._sftp.listdir(entry.path):
                    raise TransferError(ErrorCode.NOT_EMPTY, f"{entry.path}: directory not empty")
                self._sftp.rmdir(entry.path)
            else:
                self._sftp.remove(entry.path)

    def rename(self, src: str, dst: str) -> None:
        src, dst = normpath(src), normpath(dst)
        with _translated(src):
            try:
                # OpenSSH's posix-rename replaces an existing target atomically.
                self._sftp.posix_rename(src, dst)
            except OSError as exc:
                if exc.errno is not None:
                    raise
                self.stat(src)  # a missing source reports NOT_FOUND
                if self.exists(dst):
                    raise TransferError(ErrorCode.EXISTS, f"{dst}: exists") from exc
                self._sftp.rename(src, dst)

    def close(self) -> None:
        if self._transport is not None:
            with contextlib.suppress(Exception):  # closing a dead connection
                self._sftp.close()
            self._transport.close()
            self._transport = None
