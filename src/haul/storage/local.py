"""`file://` backend: the worker's own disks.

Symbolic links are reported as links (`lstat`), never walked into, never
written through, and removing one removes the link. With `roots` (the
worker's `--file-root` directories) every path an operation touches is
resolved first, links followed, and refused with PERMISSION_DENIED when it
lands outside them: the server's text check cannot see links, this can.
"""

from __future__ import annotations

import errno
import os
import stat as stat_mod
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

from haul.domain.errors import ErrorCode, TransferError
from haul.storage._base import BaseStorage, Entry, basename, join, normpath, parent
from haul.storage.error_translation import OS_ERRORS, from_oserror
from haul.storage.noreplace import rename_noreplace
from haul.storage.site_access import SiteAccess

_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
# Linux: the kernel resolves a path in one open(O_PATH), and /proc names the
# result; four times cheaper than os.path.realpath's lstat per component, which
# matters because every operation of a small-file copy is checked.
_O_PATH = getattr(os, "O_PATH", 0)
_PROC_FD = bool(_O_PATH) and os.path.isdir("/proc/self/fd")


def resolved(path: str) -> str:
    """`path` with every link followed; a part that does not exist yet is kept as text.

    Same answer as `os.path.realpath` (non-strict), by a faster road when the
    path exists.
    """
    if not _PROC_FD:
        return os.path.realpath(path)
    try:
        fd = os.open(path, _O_PATH | os.O_CLOEXEC)
    except OSError:
        if path == "/":
            return path
        try:
            os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return join(resolved(parent(path)), basename(path))  # not there yet
        except OSError:
            pass
        return os.path.realpath(path)  # a dangling link, or unreadable: the exact way
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return os.path.realpath(path)
    finally:
        os.close(fd)


def _entry(path: str, st: os.stat_result) -> Entry:
    is_dir = stat_mod.S_ISDIR(st.st_mode)
    if stat_mod.S_ISLNK(st.st_mode):
        try:
            target: str | None = os.readlink(path)
        except OSError:
            target = None
        return Entry(path, basename(path), False, 0, st.st_mtime, is_link=True, target=target)
    return Entry(path, basename(path), is_dir, 0 if is_dir else st.st_size, st.st_mtime)


class LocalStorage(BaseStorage):
    """Local file system; the URL's host part is ignored (`file:///abs/path`)."""

    reusable_write_buffers = True  # os.write copies into the page cache before returning
    # Streams are unbuffered (`FileIO`): the engine moves whole chunks, which a
    # buffer would only copy, and a buffered file costs two system calls more
    # to open (isatty's ioctl, lseek) and one more read at its end.

    @classmethod
    def from_url(cls, url: str, credential: dict[str, Any], access: SiteAccess) -> LocalStorage:
        return cls()  # the worker confines it to its roots per element (`confine`)

    def __init__(self, roots: Sequence[str] | None = None) -> None:
        self.roots: list[str] = []
        self._prefixes: tuple[tuple[str, str], ...] = ()
        self._set_roots(roots or [])

    def _set_roots(self, roots: Sequence[str]) -> None:
        # Each root real and normalised once, with its "dir/" prefix: a small
        # file's copy checks about seven paths, so the test must be cheap.
        self.roots = [os.path.realpath(r) for r in roots]
        self._prefixes = tuple((r, r.rstrip("/") + "/") for r in self.roots)

    def confine(self, roots: Sequence[str]) -> LocalStorage:
        """Keeps every later operation inside `roots`; cheap to repeat per element."""
        if roots and not self.roots:
            self._set_roots(roots)
        return self

    def _inside(self, path: str, follow: bool) -> None:
        """Refuses `path` if, links resolved, it lies outside the roots.

        The real path of the deepest existing ancestor, plus what does not
        exist yet, is where an operation would land (`os.path.realpath` in
        its non-strict form computes exactly that; `resolved` is its fast
        equivalent). With `follow=False` the
        final component is taken as it is: the operation acts on a link
        itself (remove, rename, a write that refuses links), not its target.
        """
        if not self.roots:
            return
        real = resolved(path) if follow else join(resolved(parent(path)), basename(path))
        real = os.path.normpath(real)
        for root, prefix in self._prefixes:
            if real == root or real.startswith(prefix):
                return
        shown = path if real == path else f"{path} (resolves to {real})"
        raise TransferError(
            ErrorCode.PERMISSION_DENIED, f"{shown}: outside this worker's --file-root directories"
        )

    def realpath(self, path: str) -> str:
        return resolved(normpath(path))

    def stat(self, path: str) -> Entry:
        path = normpath(path)
        self._inside(path, follow=True)
        with OS_ERRORS.translated(path):
            return _entry(path, os.stat(path))

    def exists(self, path: str) -> bool:
        # The base class's stat-and-catch builds a TransferError for every
        # absent path, and a copy's destination is usually absent.
        path = normpath(path)
        self._inside(path, follow=True)
        try:
            os.stat(path)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise from_oserror(exc, path) from exc
        return True

    def lstat(self, path: str) -> Entry:
        path = normpath(path)
        self._inside(path, follow=False)
        with OS_ERRORS.translated(path):
            return _entry(path, os.lstat(path))

    def _scandir(self, path: str) -> Iterator[Entry]:
        with OS_ERRORS.translated(path), os.scandir(path) as it:
            entries = list(it)
        for de in entries:
            child = join(path, de.name)
            try:
                yield _entry(child, de.stat(follow_symlinks=False))
            except FileNotFoundError:
                continue  # removed while listing

    def open_read(self, path: str) -> BinaryIO:
        path = normpath(path)
        self._inside(path, follow=True)
        with OS_ERRORS.translated(path):  # a directory: IsADirectoryError, IS_A_DIRECTORY
            return open(path, "rb", buffering=0)  # noqa: SIM115 - the caller owns the stream

    def open_sized(self, path: str) -> tuple[BinaryIO, Entry]:
        """The open file and its fstat: the size of what is being read, no second lookup."""
        stream = self.open_read(path)
        try:
            st = os.fstat(stream.fileno())
        except OSError as exc:
            stream.close()
            raise from_oserror(exc, path) from exc
        return stream, _entry(normpath(path), st)

    def open_write(self, path: str) -> BinaryIO:
        """Creates or truncates `path`, never through a link planted at that name."""
        path = normpath(path)
        self._inside(path, follow=False)
        try:
            fd = os.open(path, _WRITE_FLAGS, 0o666)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise TransferError(
                    ErrorCode.PERMISSION_DENIED,
                    f"{path}: is a symbolic link; haul does not write through links",
                ) from exc
            raise from_oserror(exc, path) from exc
        return os.fdopen(fd, "wb", buffering=0)

    def mkdir(self, path: str, parents: bool = True) -> None:
        path = normpath(path)
        self._inside(path, follow=True)
        with OS_ERRORS.translated(path):
            if parents:
                os.makedirs(path, exist_ok=True)
            elif not os.path.isdir(path):
                os.mkdir(path)

    def remove(self, path: str) -> None:
        """A file, an empty directory or a link; a link is unlinked, never followed."""
        path = normpath(path)
        self._inside(path, follow=False)
        with OS_ERRORS.translated(path):
            if stat_mod.S_ISDIR(os.lstat(path).st_mode):
                os.rmdir(path)
            else:
                os.unlink(path)

    def rename(self, src: str, dst: str) -> None:
        src, dst = normpath(src), normpath(dst)
        self._inside(src, follow=False)
        self._inside(dst, follow=False)
        with OS_ERRORS.translated(src):
            os.replace(src, dst)

    atomic_noreplace = True

    def rename_noreplace(self, src: str, dst: str) -> None:
        """One atomic rename that fails with EXISTS if `dst` exists (see noreplace.py)."""
        src, dst = normpath(src), normpath(dst)
        self._inside(src, follow=False)
        self._inside(dst, follow=False)
        try:
            rename_noreplace(src, dst)
        except OSError as exc:
            raise from_oserror(exc, dst if exc.errno == errno.EEXIST else src) from exc
