"""`file://` backend: the worker's own disks."""

from __future__ import annotations

import os
import stat as stat_mod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from haul.domain.errors import ErrorCode, TransferError
from haul.storage._base import BaseStorage, Entry, basename, join, normpath
from haul.storage._errors import from_oserror


@contextmanager
def _translated(path: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise from_oserror(exc, path) from exc


def _entry(path: str, st: os.stat_result) -> Entry:
    is_dir = stat_mod.S_ISDIR(st.st_mode)
    return Entry(path, basename(path), is_dir, 0 if is_dir else st.st_size, st.st_mtime)


class LocalStorage(BaseStorage):
    """Local file system; the URL's host part is ignored (`file:///abs/path`)."""

    def stat(self, path: str) -> Entry:
        path = normpath(path)
        with _translated(path):
            return _entry(path, os.stat(path))

    def _scandir(self, path: str) -> Iterator[Entry]:
        with _translated(path), os.scandir(path) as it:
            entries = list(it)
        for de in entries:
            child = join(path, de.name)
            try:
                yield _entry(child, de.stat())
            except FileNotFoundError:
                continue  # removed while listing, or a dangling symlink

    def open_read(self, path: str) -> BinaryIO:
        path = normpath(path)
        with _translated(path):
            if os.path.isdir(path):
                raise TransferError(ErrorCode.IS_A_DIRECTORY, f"{path}: is a directory")
            return open(path, "rb")  # noqa: SIM115 - the caller owns the stream

    def open_write(self, path: str) -> BinaryIO:
        path = normpath(path)
        with _translated(path):
            return open(path, "wb")  # noqa: SIM115 - the caller owns the stream

    def mkdir(self, path: str, parents: bool = True) -> None:
        path = normpath(path)
        with _translated(path):
            if parents:
                os.makedirs(path, exist_ok=True)
            elif not os.path.isdir(path):
                os.mkdir(path)

    def remove(self, path: str) -> None:
        path = normpath(path)
        with _translated(path):
            if os.path.isdir(path) and not os.path.islink(path):
                os.rmdir(path)
            else:
                os.unlink(path)

    def rename(self, src: str, dst: str) -> None:
        src, dst = normpath(src), normpath(dst)
        with _translated(src):
            os.replace(src, dst)
