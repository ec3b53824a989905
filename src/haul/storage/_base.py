"""The storage port: the one interface every protocol backend implements.

Backends subclass `BaseStorage`, which derives the recursive `list` from a
one-level `_scandir`, so depth handling and the "listing a file yields the
file" rule are written once instead of six times.
"""

from __future__ import annotations

import io
import posixpath
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol, runtime_checkable

from haul.domain.errors import ErrorCode, TransferError
from haul.storage.site_access import SiteAccess


@dataclass
class Entry:
    """One file, directory or symbolic link as a storage reports it; `path` is absolute.

    A link is reported as a link (``is_link``, never ``is_dir``, with the text it
    points to in ``target`` when the backend can read it), so that nothing
    walks, copies or removes through a link by accident (docs/storage.md).
    """

    path: str
    name: str
    is_dir: bool
    size: int
    mtime: float | None
    is_link: bool = False
    target: str | None = None


@runtime_checkable
class Storage(Protocol):
    """Synchronous access to one storage endpoint.

    Synchronous on purpose: workers run each element in a thread, and blocking
    calls keep backends and their error handling simple.
    """

    def list(
        self, path: str, depth: int = 1, descend: Callable[[Entry], bool] | None = None
    ) -> Iterator[Entry]: ...

    def stat(self, path: str) -> Entry: ...

    def lstat(self, path: str) -> Entry: ...

    def realpath(self, path: str) -> str: ...

    def open_read(self, path: str) -> BinaryIO: ...

    def open_write(self, path: str) -> BinaryIO: ...

    def mkdir(self, path: str, parents: bool = True) -> None: ...

    def remove(self, path: str) -> None: ...

    def rename(self, src: str, dst: str) -> None: ...

    def rename_noreplace(self, src: str, dst: str) -> None: ...

    def checksum(self, path: str, algorithm: str) -> str | None: ...

    def exists(self, path: str) -> bool: ...

    def close(self) -> None: ...


def normpath(path: str) -> str:
    """Absolute, normalised POSIX path; rejects relative paths.

    Job paths arrive already resolved under the endpoint prefix, so a relative
    path here is a caller bug, and guessing a base would write to a wrong place.
    """
    if not path or not path.startswith("/"):
        raise TransferError(ErrorCode.INVALID, f"path must be absolute: {path!r}")
    if "//" not in path and "/." not in path and (path[-1] != "/" or path == "/"):
        return path  # normal already (no "//", ".", "..", trailing "/"): most of a copy's paths
    norm = posixpath.normpath(path)
    # posixpath keeps a leading "//" (POSIX allows it to mean something else).
    return "/" + norm.lstrip("/")


def basename(path: str) -> str:
    return posixpath.basename(path.rstrip("/")) or "/"


def parent(path: str) -> str:
    return posixpath.dirname(path.rstrip("/")) or "/"


def join(path: str, name: str) -> str:
    return posixpath.join(path, name)


class BaseStorage(ABC):
    """Shared behaviour; subclasses provide `_scandir` and the primitive calls."""

    @classmethod
    def from_url(cls, url: str, credential: dict[str, Any], access: SiteAccess) -> BaseStorage:
        """How `open_storage` builds one: remote backends take all three;
        those that need less (the local disk, the simulated store) say so."""
        return cls(url, credential, access)  # type: ignore[call-arg]

    @abstractmethod
    def _scandir(self, path: str) -> Iterable[Entry]:
        """The direct children of directory `path` (no recursion)."""

    @abstractmethod
    def stat(self, path: str) -> Entry: ...

    def lstat(self, path: str) -> Entry:
        """Like `stat`, but a final symbolic link is reported as the link itself.

        Backends without links (object stores, HTTP) have nothing to tell apart.
        """
        return self.stat(path)

    def realpath(self, path: str) -> str:
        """`path` with every link resolved, where the backend knows links."""
        return normpath(path)

    def _is_existing_dir(self, path: str) -> bool:
        """For mkdir: True if `path` is already a directory, False if absent.

        A file in the way is an EXISTS error, the same on every protocol.
        """
        try:
            entry = self.stat(path)
        except TransferError as exc:
            if exc.code is not ErrorCode.NOT_FOUND:
                raise
            return False
        if entry.is_dir:
            return True
        raise TransferError(ErrorCode.EXISTS, f"{path}: exists and is not a directory")

    def list(
        self, path: str, depth: int = 1, descend: Callable[[Entry], bool] | None = None
    ) -> Iterator[Entry]:
        """The tree under `path`; the path itself is followed if it is a link.

        The walk enters real directories only: a link is yielded as a link and
        never entered. `descend`, when given, can keep the walk out of a
        directory too (the worker uses it for names it cannot report).
        """
        path = normpath(path)
        top = self.stat(path)
        if not top.is_dir:
            yield top
            return
        yield from self._walk(path, 1, depth, descend)

    def _walk(
        self, path: str, level: int, depth: int, descend: Callable[[Entry], bool] | None
    ) -> Iterator[Entry]:
        children = sorted(self._scandir(path), key=lambda e: e.name)
        subdirs: list[Entry] = []
        for entry in children:
            yield entry
            if entry.is_dir and not entry.is_link and (descend is None or descend(entry)):
                subdirs.append(entry)
        if depth <= 0 or level < depth:
            for sub in subdirs:
                yield from self._walk(sub.path, level + 1, depth, descend)

    # True where open_write's streams are done with a buffer when write()
    # returns (they never keep a reference to it), so the copy engine may read
    # the next chunk into the same buffer (storage/chunks.py).
    reusable_write_buffers = False
    # True where `rename_noreplace` is one atomic operation of the protocol;
    # False where it is the check-then-rename below, with its race window.
    atomic_noreplace = False

    @abstractmethod
    def rename(self, src: str, dst: str) -> None: ...

    def rename_noreplace(self, src: str, dst: str) -> None:
        """Renames `src` to `dst`, refusing with EXISTS if `dst` exists.

        This fallback checks, then renames: another writer can slip in
        between. Backends whose protocol refuses an existing target in the
        rename itself override it and set `atomic_noreplace`.
        """
        if self.exists(dst):
            raise TransferError(ErrorCode.EXISTS, f"{dst}: exists")
        self.rename(src, dst)

    def open_sized(self, path: str) -> tuple[BinaryIO, Entry]:
        """`open_read` and the file's stat, which a copy needs both of.

        This default is a stat, then the open. Backends whose open answers the
        size itself (XRootD's open, S3's GET, a local fstat) override it and
        spare a round trip per file.
        """
        entry = self.stat(path)
        if entry.is_dir:
            raise TransferError(ErrorCode.IS_A_DIRECTORY, f"{entry.path}: is a directory")
        return self.open_read(path), entry

    def exists(self, path: str) -> bool:
        try:
            self.stat(path)
        except TransferError as exc:
            if exc.code is ErrorCode.NOT_FOUND:
                return False
            raise
        return True

    def checksum(self, path: str, algorithm: str) -> str | None:
        return None

    def close(self) -> None:
        return None

    def __enter__(self) -> BaseStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class IteratorReader(io.RawIOBase):
    """A readable raw stream over an iterator of byte chunks.

    HTTP clients hand out bodies as chunk iterators; callers of `open_read`
    want a file object. `on_close` releases the connection.
    """

    def __init__(
        self,
        chunks: Iterator[bytes],
        on_close: Callable[[], None] | None = None,
        translate: Callable[[Exception], TransferError] | None = None,
    ) -> None:
        super().__init__()
        self._chunks = chunks
        self._buffer = b""
        self._on_close = on_close
        self._translate = translate

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
            except TransferError:
                raise
            except Exception as exc:
                if self._translate is None:
                    raise
                raise self._translate(exc) from exc
        n = min(len(b), len(self._buffer))
        b[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            try:
                if self._on_close is not None:
                    self._on_close()
            finally:
                super().close()


class WriteStream(io.RawIOBase):
    """Base for writers that must tell "finished" from "given up".

    `close()` commits what was written; `abort()` discards it (e.g. aborts an
    S3 multipart upload) so that a failed copy leaves nothing behind. The copy
    engine calls `abort()` when it exists on a writer and the copy failed.

    `receipt`, set by `close()`, names how the server confirmed that it
    stored exactly the bytes written (a checksum it computed of what it
    received and answered back): the engine then verifies without reading
    the file back.
    """

    receipt: str | None = None

    def writable(self) -> bool:
        return True

    def abort(self) -> None:
        """Give up: release resources without committing. Idempotent."""
        super().close()


def buffered_reader(raw: io.RawIOBase, size: int = 1024 * 1024) -> BinaryIO:
    return io.BufferedReader(raw, buffer_size=size)  # type: ignore[return-value]
