"""`sftp://` backend over asyncssh, with pipelined file streams.

URL: `sftp://[user@]host[:port]/prefix`. Credential: `{"username", "password"}`
or `{"username", "private_key"}` (PEM/OpenSSH text, optional "passphrase"),
optionally `"host_key"`: an OpenSSH public key line ("ssh-ed25519 AAAA...") the
server must present. Without it, the key pinned on the site (recorded by the
first successful connection, see `SiteAccess.host_key`) must match; with
neither, the key offered is accepted and exposed as `host_key` for the worker
to pin. The key is checked before authenticating, so a server that is not
the pinned one never sees the credential.

Only the lease's credential is used: no ssh-agent, no `~/.ssh` keys, config
or `known_hosts` of the worker's account, no GSSAPI or host-based login.
The connection is made on the socket the site's network policy checked.

asyncssh was chosen by measurement over a tuned paramiko (bench/sftp_micro.py,
bench/RESULTS.md "SFTP"); its coroutines run on one shared loop thread
(`haul.storage._loop`) behind this synchronous interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import stat as stat_mod
import time
from collections.abc import Coroutine
from typing import Any, BinaryIO, TypeVar
from urllib.parse import unquote, urlsplit

import asyncssh

from haul.domain.errors import ErrorCode, TransferError
from haul.storage import _loop
from haul.storage._base import BaseStorage, Entry, basename, join, normpath, parent
from haul.storage.error_translation import OS_ERRORS
from haul.storage.sftp_checksum import TIMEOUT as CHECKSUM_TIMEOUT
from haul.storage.sftp_checksum import RemoteChecksum
from haul.storage.sftp_errors import SFTP_ERRORS
from haul.storage.sftp_host_keys import HostKeyCheck, host_key_algs, key_mismatch
from haul.storage.sftp_receive import piecewise_receive
from haul.storage.sftp_stream import (
    IO_TIMEOUT,
    PipelinedReader,
    PipelinedWriter,
    ReadStream,
    answers_whole_reads,
    block_sizes,
)
from haul.storage.sftp_wire import tune
from haul.storage.site_access import DIRECT, SiteAccess

_T = TypeVar("_T")
_CONNECT_TIMEOUT = 20.0
# AES-GCM first: one OpenSSL call per packet (AES-NI), measured fastest here.
_CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes256-ctr",
)

_TRUST_STAT = 1.0  # seconds a stat is trusted by the open that follows it
# The receive window: asyncssh adjusts it each time half is consumed, one
# more packet and socket write (waking the server) per half window; 8 MiB,
# above what a file's reads ask at once (MAX_IN_FLIGHT x the block, 4 MiB),
# so the window never holds the reads back and is adjusted every 4 MiB, not
# every 1 MiB: ~6% less CPU per GiB, 5 alternating rounds of 4 x 256 MiB
# (bench/RESULTS.md, branch `big`).
_WINDOW = 8 * 1024 * 1024
_MAX_PACKET = 32 * 1024


def _load_key(text: str, passphrase: str | None) -> asyncssh.SSHKey:
    try:
        return asyncssh.import_private_key(text, passphrase)
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise TransferError(ErrorCode.NO_CREDENTIAL, f"unusable SSH private key: {exc}") from exc


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
        key = _load_key(key_text, credential.get("passphrase")) if key_text else None
        if key is None and password is None:
            raise TransferError(ErrorCode.NO_CREDENTIAL, f"no SSH password or key for {url}")
        explicit = credential.get("host_key")
        expected = explicit or access.host_key
        self.target = f"{self.host}:{self.port}"
        # The key the server presented: the worker pins it on the site when none is.
        self.host_key: str | None = None
        self._conn: asyncssh.SSHClientConnection | None = None
        check = HostKeyCheck(expected)
        with OS_ERRORS.translated(self.target):
            sock = access.network.connect(self.host, self.port, _CONNECT_TIMEOUT)
        try:
            with SFTP_ERRORS.translated(self.target):
                try:
                    self._conn, self._sftp = _loop.run(
                        self._connect(sock, check, key, password, expected), _CONNECT_TIMEOUT * 2
                    )
                except asyncssh.HostKeyNotVerifiable as exc:
                    offered = check.offered or "?"
                    raise key_mismatch(access, self.target, offered, bool(explicit)) from exc
        except TransferError:
            sock.close()
            raise
        self.host_key = check.offered
        self._last_stat: tuple[str, asyncssh.SFTPAttrs, float] | None = None
        self._read_block, self._write_block = block_sizes(self._sftp)
        self._whole_reads = answers_whole_reads(self._sftp)
        self._checksums = RemoteChecksum(self._conn)

    async def _connect(
        self,
        sock: Any,
        check: HostKeyCheck,
        key: asyncssh.SSHKey | None,
        password: str | None,
        expected: str | None,
    ) -> tuple[asyncssh.SSHClientConnection, asyncssh.SFTPClient]:
        conn = await asyncssh.connect(
            self.host,
            self.port,
            sock=sock,
            username=self.username,
            client_factory=lambda: check,
            # An empty trust list: every key goes through HostKeyCheck.
            known_hosts=([], [], []),
            server_host_key_algs=host_key_algs(expected),
            client_keys=[key] if key is not None else None,
            password=password,
            passphrase=None,
            config=None,
            agent_path=None,
            agent_forwarding=False,
            gss_host=None,
            host_based_auth=False,
            x509_trusted_certs=None,
            encryption_algs=list(_CIPHERS),
            window=_WINDOW,
            max_pktsize=_MAX_PACKET,
            # No keepalive: its timer is re-armed on every packet received (a
            # measured 3% of the loop's time on small files); every call has
            # its own timeout, and a dead idle connection fails its next call.
            keepalive_interval=0,
            connect_timeout=_CONNECT_TIMEOUT,
            login_timeout=_CONNECT_TIMEOUT,
        )
        tune(conn)  # one socket write per loop pass, no IGNORE packets (sftp_wire)
        piecewise_receive(conn)  # large reads parsed in pieces: fewer copies (sftp_receive)
        try:
            # Names are bytes on the server: decode them as the local backend
            # does (os.fsdecode), so a name that is not UTF-8 arrives as one
            # entry with surrogate escapes, which the worker skips by itself,
            # instead of failing the whole directory's listing.
            sftp = await conn.start_sftp_client(path_errors="surrogateescape")
        except BaseException:
            conn.close()
            raise
        return conn, sftp

    def _run(self, coro: Coroutine[Any, Any, _T], path: str, timeout: float = IO_TIMEOUT) -> _T:
        if self._conn is None:
            coro.close()
            raise TransferError(ErrorCode.CONNECTION, f"{self.target}: connection closed")
        with SFTP_ERRORS.translated(path):
            return _loop.run(coro, timeout)

    def _entry(self, path: str, attrs: asyncssh.SFTPAttrs, target: str | None = None) -> Entry:
        mtime = float(attrs.mtime) if attrs.mtime is not None else None
        mode = attrs.permissions or 0
        if stat_mod.S_ISLNK(mode):
            # READDIR and LSTAT describe a link itself; a link is never a directory here.
            return Entry(path, basename(path), False, 0, mtime, is_link=True, target=target)
        is_dir = stat_mod.S_ISDIR(mode)
        size = 0 if is_dir else int(attrs.size or 0)
        return Entry(path, basename(path), is_dir, size, mtime)

    async def _readlink(self, path: str) -> str | None:
        try:
            return str(await self._sftp.readlink(path))
        except (asyncssh.SFTPError, OSError):
            return None

    async def _described(self, path: str, attrs: asyncssh.SFTPAttrs) -> Entry:
        target = await self._readlink(path) if stat_mod.S_ISLNK(attrs.permissions or 0) else None
        return self._entry(path, attrs, target)

    def stat(self, path: str) -> Entry:
        path = normpath(path)
        attrs = self._run(self._sftp.stat(path), path)
        self._last_stat = (path, attrs, time.monotonic())
        return self._entry(path, attrs)

    def _fresh_stat(self, path: str) -> asyncssh.SFTPAttrs | None:
        """The stat just made of `path` (the engine stats a file, then opens it).

        Trusting it saves a request per file; a file that changed in between
        is still read to its real end, and the engine's size check sees it.
        """
        last = self._last_stat
        if last is not None and last[0] == path and time.monotonic() - last[2] < _TRUST_STAT:
            return last[1]
        return None

    def lstat(self, path: str) -> Entry:
        path = normpath(path)

        async def lstat() -> Entry:
            return await self._described(path, await self._sftp.lstat(path))

        return self._run(lstat(), path)

    def realpath(self, path: str) -> str:
        path = normpath(path)
        return str(self._run(self._sftp.realpath(path), path))

    def _scandir(self, path: str) -> list[Entry]:
        async def scan() -> list[Entry]:
            names = [n for n in await self._sftp.readdir(path) if n.filename not in (".", "..")]
            return list(
                await asyncio.gather(
                    *(self._described(join(path, str(n.filename)), n.attrs) for n in names)
                )
            )

        return self._run(scan(), path)

    def open_read(self, path: str) -> BinaryIO:
        return self.open_sized(path)[0]

    def open_sized(self, path: str) -> tuple[BinaryIO, Entry]:
        """The stream and the stat that planned its reads: asked together, one round trip."""
        path = normpath(path)
        known = self._fresh_stat(path)
        if known is not None and stat_mod.S_ISDIR(known.permissions or 0):
            raise TransferError(ErrorCode.IS_A_DIRECTORY, f"{path}: is a directory")
        return self._open(path, known)

    def open_listed(self, path: str, size: int) -> tuple[BinaryIO, Entry]:
        """`open_sized` for a file whose size a listing just gave: the reads
        are planned by it, so the open is one request, not a stat and an open.

        A file that changed since is still read to its real end; the engine
        then sees fewer or more bytes than `size` and copies it again, its
        reads planned by a stat (`copy_file`'s `listed_size`).
        """
        path = normpath(path)
        return self._open(path, asyncssh.SFTPAttrs(size=size, permissions=stat_mod.S_IFREG))

    def _open(self, path: str, known: asyncssh.SFTPAttrs | None) -> tuple[BinaryIO, Entry]:
        """Opens `path` for reading; `known`: the attributes that plan its
        reads, else a stat is sent with the open (one round trip either way)."""

        async def opened() -> tuple[asyncssh.SFTPClientFile, asyncssh.SFTPAttrs]:
            if known is not None:
                return await self._sftp.open(path, "rb", block_size=0, encoding=None), known
            attrs, handle = await asyncio.gather(
                self._sftp.stat(path),
                self._sftp.open(path, "rb", block_size=0, encoding=None),
                return_exceptions=True,
            )
            if isinstance(handle, BaseException):
                raise attrs if isinstance(attrs, BaseException) else handle
            if isinstance(attrs, BaseException) or stat_mod.S_ISDIR(attrs.permissions or 0):
                await handle.close()
                if isinstance(attrs, BaseException):
                    raise attrs
                raise TransferError(ErrorCode.IS_A_DIRECTORY, f"{path}: is a directory")
            return handle, attrs

        async def start() -> tuple[PipelinedReader, asyncssh.SFTPAttrs]:
            handle, attrs = await opened()
            reader = PipelinedReader(
                handle,
                path,
                int(attrs.size or 0),
                self._read_block,
                SFTP_ERRORS,
                close_early=self._whole_reads,
            )
            await reader.prefill()
            return reader, attrs

        reader, attrs = self._run(start(), path)
        return ReadStream(reader), self._entry(path, attrs)  # type: ignore[return-value]

    def open_write(self, path: str) -> BinaryIO:
        path = normpath(path)

        if self._conn is None:
            raise TransferError(ErrorCode.CONNECTION, f"{self.target}: connection closed")

        async def opener() -> asyncssh.SFTPClientFile:
            return await self._sftp.open(path, "wb", block_size=0, encoding=None)

        return PipelinedWriter(opener, path, self._write_block, SFTP_ERRORS)  # type: ignore[return-value]

    def mkdir(self, path: str, parents: bool = True) -> None:
        path = normpath(path)
        if self._is_existing_dir(path):
            return
        if parents and path != "/":
            self.mkdir(parent(path), parents=True)
        try:
            self._run(self._sftp.mkdir(path), path)
        except TransferError as exc:
            # SFTP's generic "Failure" hides EEXIST when a peer created it first.
            if exc.code is not ErrorCode.INTERNAL:
                raise
            if self.exists(path) and self.stat(path).is_dir:
                return
            if not self.exists(parent(path)):
                raise TransferError(
                    ErrorCode.NOT_FOUND, f"{parent(path)}: no such directory"
                ) from exc
            raise

    def remove(self, path: str) -> None:
        entry = self.lstat(path)  # a link is removed itself, never what it points to
        if entry.is_dir:
            if self._scandir(entry.path):
                raise TransferError(ErrorCode.NOT_EMPTY, f"{entry.path}: directory not empty")
            self._run(self._sftp.rmdir(entry.path), entry.path)
        else:
            self._run(self._sftp.remove(entry.path), entry.path)

    def rename(self, src: str, dst: str) -> None:
        src, dst = normpath(src), normpath(dst)
        try:
            # OpenSSH's posix-rename replaces an existing target atomically.
            self._run(self._sftp.posix_rename(src, dst), src)
        except TransferError as exc:
            if exc.code not in (ErrorCode.UNSUPPORTED, ErrorCode.INTERNAL):
                raise
            self.stat(src)  # a missing source reports NOT_FOUND
            if self.exists(dst):
                raise TransferError(ErrorCode.EXISTS, f"{dst}: exists") from exc
            self._run(self._sftp.rename(src, dst), src)

    def checksum(self, path: str, algorithm: str) -> str | None:
        """The server's own digest (sha256sum/md5sum over SSH exec) where the
        account may run commands; None sends the engine to read back."""
        path = normpath(path)
        if self._conn is None or not self._checksums.offers(algorithm):
            return None
        return self._run(self._checksums.digest(path, algorithm), path, CHECKSUM_TIMEOUT + 10)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return

        async def shut() -> None:
            self._sftp.exit()
            conn.close()
            await conn.wait_closed()

        with contextlib.suppress(Exception):  # closing a dead connection
            _loop.run(shut(), 5.0)
