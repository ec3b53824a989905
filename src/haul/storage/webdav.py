"""`https://` / `davs://` WebDAV backend over webdav4 (httpx).

URL: `https://host[:port]/prefix` (`davs://` is the same over TLS, `dav://`
and `http://` are plain HTTP). Paths given to the storage are the URL paths on
the server, e.g. `/prefix/run1/file.dat`. Credential: `{"token"}` sent as a
bearer token, or `{"username", "password"}` for basic auth; optional
`"verify": false` or a CA bundle path under `"ca_cert"` for private CAs.

Uploads stream with chunked transfer encoding from a background thread, so
`open_write` returns a file object without holding the file in memory.

Only the lease's credential is sent: the HTTP client ignores the worker's
proxy variables (`trust_env=False`; httpx 0.28 reads no `.netrc` either);
CA bundles named by `SSL_CERT_FILE`/`SSL_CERT_DIR` are still honoured,
being trust, not identity.
Every new connection goes to an address the site's network policy allows.
"""

from __future__ import annotations

import contextlib
import io
import queue
import ssl
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import httpcore
import httpx
import webdav4.client as wd

from haul.domain.errors import ErrorCode, TransferError
from haul.storage import _webdav_tpc as webdav_tpc
from haul.storage._base import (
    BaseStorage,
    Entry,
    IteratorReader,
    WriteStream,
    basename,
    join,
    normpath,
    parent,
)
from haul.storage.http_get import PlainGets, basic_authorization
from haul.storage.network_policy import NetworkPolicy
from haul.storage.schemes import BACKENDS
from haul.storage.site_access import DIRECT, SiteAccess
from haul.storage.webdav_errors import WEBDAV_ERRORS, check

_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
_READ_CHUNK = 1024 * 1024


class _UploadStream(WriteStream):
    """The caller writes; a thread PUTs the bytes as a chunked request body."""

    def __init__(self, http: httpx.Client, url: httpx.URL, path: str) -> None:
        super().__init__()
        self._path = path
        self._chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self._aborted = threading.Event()
        self._error: BaseException | None = None
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(
            target=self._run, args=(http, url), name=f"webdav-put {path}", daemon=True
        )
        self._thread.start()

    def _body(self) -> Iterator[bytes]:
        # On abort the body ends cleanly rather than breaking the connection: the
        # server then finishes the PUT and answers before abort() returns, so the
        # caller's DELETE of the temporary cannot overtake a PUT handler that has
        # not yet created the file (which would leave it behind).
        while True:
            try:
                chunk = self._chunks.get(timeout=0.5)
            except queue.Empty:
                if self._aborted.is_set():
                    return
                continue
            if chunk is None or self._aborted.is_set():
                return
            yield chunk

    def _run(self, http: httpx.Client, url: httpx.URL) -> None:
        try:
            self._response = http.put(url, content=self._body())
        except BaseException as exc:  # noqa: BLE001 - handed to the writing thread
            self._error = exc

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise WEBDAV_ERRORS(self._error, self._path) from self._error
        if self._response is not None:
            check(self._response, self._path)

    def _put(self, item: bytes | None) -> None:
        while True:
            if not self._thread.is_alive():
                self._raise_if_failed()
                if item is not None:
                    raise TransferError(ErrorCode.CONNECTION, f"{self._path}: upload ended early")
                return
            try:
                self._chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if b:
            self._put(bytes(b))
        return len(b)

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._put(None)
            self._thread.join()
            self._raise_if_failed()
        finally:
            super().close()

    def abort(self) -> None:
        self._aborted.set()
        with contextlib.suppress(queue.Full):
            self._chunks.put_nowait(None)  # wake the body generator now
        self._thread.join(timeout=30)
        WriteStream.close(self)


class _CheckedBackend(httpcore.SyncBackend):
    """httpcore's own TCP connect, given only addresses the policy let through."""

    def __init__(self, policy: NetworkPolicy) -> None:
        self._policy = policy

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        last: Exception | None = None
        for address in self._policy.addresses(host, port):
            try:
                return super().connect_tcp(address, port, *args, **kwargs)
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last


def _checked_transport(context: ssl.SSLContext, policy: NetworkPolicy) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(verify=context)
    pool = getattr(transport, "_pool", None)
    if pool is None or not hasattr(pool, "_network_backend"):
        # Fail closed: without the hook, connections would go unchecked.
        raise TransferError(ErrorCode.INTERNAL, "httpx changed: cannot check connections")
    pool._network_backend = _CheckedBackend(policy)
    return transport


class WebDAVStorage(BaseStorage):
    def __init__(self, url: str, credential: dict[str, Any], access: SiteAccess = DIRECT) -> None:
        parts = urlsplit(url)
        backend = BACKENDS.get(parts.scheme.lower())
        scheme = backend.wire if backend is not None else None
        if scheme is None:
            raise TransferError(ErrorCode.UNSUPPORTED, f"not a WebDAV URL: {url}")
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        base_url = f"{scheme}://{netloc}"
        headers: dict[str, str] = {}
        auth: tuple[str, str] | None = None
        if credential.get("token"):
            headers["Authorization"] = f"Bearer {credential['token']}"
        elif credential.get("username"):
            auth = (str(credential["username"]), str(credential.get("password", "")))
        verify: bool | ssl.SSLContext = True
        if credential.get("ca_cert"):
            try:
                verify = ssl.create_default_context(cafile=str(credential["ca_cert"]))
            except OSError as exc:
                raise TransferError(
                    ErrorCode.INVALID, f"ca_cert {credential['ca_cert']}: {exc}"
                ) from exc
        elif credential.get("verify") is False:
            verify = False
        # trust_env here only lets SSL_CERT_FILE/SSL_CERT_DIR shape the TLS context.
        context = httpx.create_ssl_context(verify=verify, trust_env=True)
        self._http = httpx.Client(
            auth=auth,
            headers=headers,
            timeout=_TIMEOUT,
            follow_redirects=True,
            trust_env=False,
            transport=_checked_transport(context, access.network),
        )
        if auth is not None:
            headers = {**headers, "Authorization": basic_authorization(*auth)}
        self._gets = PlainGets(
            scheme,
            host,
            parts.port,
            headers=headers,
            context=context,
            policy=access.network,
            timeout=_TIMEOUT.read or 60.0,
        )
        self._client = wd.Client(base_url, http_client=self._http)
        self._base_url = base_url
        # A credential that authenticates (not a CA bundle) must never reach another server.
        self.has_credential = bool(credential.get("token") or credential.get("username"))
        # HTTP-TPC: has a pull worked here; did the first one fail as if unsupported.
        self._tpc_worked = False
        self._tpc_refused = False
        self._no_digest: set[str] = set()  # algorithms the server gave no Digest for

    def _entry(self, path: str, info: dict[str, Any]) -> Entry:
        is_dir = info.get("type") == "directory"
        modified = info.get("modified")
        mtime = modified.timestamp() if isinstance(modified, datetime) else None
        size = 0 if is_dir else int(info.get("content_length") or 0)
        return Entry(path, basename(path), is_dir, size, mtime)

    def stat(self, path: str) -> Entry:
        path = normpath(path)
        with WEBDAV_ERRORS.translated(path):
            return self._entry(path, self._client.info(path))

    def _scandir(self, path: str) -> list[Entry]:
        with WEBDAV_ERRORS.translated(path):
            items = self._client.ls(path, detail=True)
        entries = []
        for item in items:
            name = basename(str(item["name"]))
            entries.append(self._entry(join(path, name), item))
        return entries

    def open_read(self, path: str) -> BinaryIO:
        path = normpath(path)
        url = self._client.join_url(path)
        body = self._gets.open(url.raw_path.decode("ascii"), path)
        if body is not None:
            return io.BufferedReader(body, _READ_CHUNK)  # type: ignore[return-value]
        with WEBDAV_ERRORS.translated(path):
            # Identity encoding, so the body can be read as it arrives: httpx's
            # decoded, re-chunked iter_bytes cost ~30% of a large download's CPU.
            request = self._http.build_request("GET", url, headers={"Accept-Encoding": "identity"})
            response = self._http.send(request, stream=True)
            if response.status_code >= 400:
                response.close()
                if response.status_code in (403, 405) and self.stat(path).is_dir:
                    raise TransferError(ErrorCode.IS_A_DIRECTORY, f"{path}: is a collection")
                check(response, path)
        plain = response.headers.get("content-encoding", "identity").lower() == "identity"
        pieces = response.iter_raw() if plain else response.iter_bytes(_READ_CHUNK)
        raw = IteratorReader(pieces, response.close, lambda e: WEBDAV_ERRORS(e, path))
        return io.BufferedReader(raw, _READ_CHUNK)  # type: ignore[return-value]

    def open_write(self, path: str) -> BinaryIO:
        path = normpath(path)
        return _UploadStream(self._http, self._client.join_url(path), path)  # type: ignore[return-value]

    def mkdir(self, path: str, parents: bool = True) -> None:
        path = normpath(path)
        if self._is_existing_dir(path):
            return
        if parents and path != "/":
            self.mkdir(parent(path), parents=True)
        with WEBDAV_ERRORS.translated(path):
            try:
                self._client.mkdir(path)
            except wd.ResourceAlreadyExists:
                if not self.stat(path).is_dir:
                    raise
            except wd.HTTPError as exc:
                # Created by a peer between our stat and MKCOL: RFC 4918 says
                # 405, Apache's mod_dav answers the loser of the race 403.
                if exc.status_code in (403, 405) and self._is_existing_dir(path):
                    return
                raise

    def remove(self, path: str) -> None:
        entry = self.stat(path)
        with WEBDAV_ERRORS.translated(entry.path):
            # DELETE on a collection is recursive in WebDAV; the interface is not.
            if entry.is_dir and self._client.ls(entry.path, detail=False):
                raise TransferError(ErrorCode.NOT_EMPTY, f"{entry.path}: directory not empty")
            self._client.remove(entry.path)

    def rename(self, src: str, dst: str) -> None:
        src, dst = normpath(src), normpath(dst)
        with WEBDAV_ERRORS.translated(src):
            self._client.move(src, dst, overwrite=True)

    atomic_noreplace = True

    def rename_noreplace(self, src: str, dst: str) -> None:
        """MOVE with ``Overwrite: F``: the server refuses an existing target (412)."""
        src, dst = normpath(src), normpath(dst)
        with WEBDAV_ERRORS.translated(dst):
            self._client.move(src, dst, overwrite=False)

    def exists(self, path: str) -> bool:
        path = normpath(path)
        with WEBDAV_ERRORS.translated(path):
            return bool(self._client.exists(path))

    def checksum(self, path: str, algorithm: str) -> str | None:
        # RFC 3230: asked once per algorithm; a server that answers no Digest is not asked again.
        if algorithm in self._no_digest:
            return None
        path = normpath(path)
        with WEBDAV_ERRORS.translated(path):
            answered, value = webdav_tpc.digest(
                self._http, str(self._client.join_url(path)), algorithm
            )
        if answered and value is None:
            self._no_digest.add(algorithm)
        return value

    # -- HTTP third-party copy (used by haul.storage.third_party) ---------------
    def third_party_refusal(self, source: object) -> str | None:
        """Why this server cannot pull `source`'s files itself; None when it may try."""
        if not isinstance(source, WebDAVStorage):
            return "the source does not speak WebDAV"
        if source.has_credential:
            return "it would hand the source's credential to the destination server"
        if self._tpc_refused:
            return f"the destination server ({self._base_url}) does not do HTTP-TPC"
        return None

    def pull(
        self,
        source: WebDAVStorage,
        src_path: str,
        path: str,
        progress: Callable[[int, int], None] | None,
        cancelled: Callable[[], bool],
        checksum: tuple[str, str] | None = None,
    ) -> None:
        """HTTP-TPC pull: this server GETs `src_path` from `source` into `path`.
        `checksum` is never given: this backend has no `pull_checks`."""
        src_path, path = normpath(src_path), normpath(path)
        target = str(self._client.join_url(path))
        origin = str(source._client.join_url(src_path))
        try:
            with WEBDAV_ERRORS.translated(path):
                webdav_tpc.pull(
                    self._http, target, origin, path, progress=progress, cancelled=cancelled
                )
        except webdav_tpc.Refused:
            # Refused before any pull worked here: taken as "no HTTP-TPC", so the
            # next files stream without asking again.
            self._tpc_refused = not self._tpc_worked
            raise
        self._tpc_worked = True

    def describe(self) -> str:
        return self._base_url

    def close(self) -> None:
        self._gets.close()
        self._http.close()
