"""The source side of a COPY from a file uploaded to the server (``upload://``).

Uploads are at most 10 MB, so the worker fetches the bytes once, within the
element's lease, and serves reads from memory.
"""

from __future__ import annotations

import io
import posixpath
from collections.abc import Callable, Iterator
from typing import BinaryIO

from haul.domain.errors import ErrorCode, TransferError
from haul.storage import Entry


class UploadSource:
    def __init__(self, fetch: Callable[[str], bytes]) -> None:
        self._fetch = fetch
        self._data: dict[str, bytes] = {}

    def _bytes(self, path: str) -> bytes:
        upload_id = path.strip("/")
        if upload_id not in self._data:
            self._data[upload_id] = self._fetch(upload_id)
        return self._data[upload_id]

    def stat(self, path: str) -> Entry:
        return Entry(path, posixpath.basename(path), False, len(self._bytes(path)), None)

    lstat = stat  # an upload is never a link

    def realpath(self, path: str) -> str:
        return path

    def exists(self, path: str) -> bool:
        try:
            self._bytes(path)
        except TransferError:
            return False
        return True

    def open_read(self, path: str) -> BinaryIO:
        return io.BytesIO(self._bytes(path))

    def checksum(self, path: str, algorithm: str) -> str | None:
        return None

    def list(
        self, path: str, depth: int = 1, descend: Callable[[Entry], bool] | None = None
    ) -> Iterator[Entry]:
        yield self.stat(path)

    def _read_only(self, *_: object, **__: object) -> None:
        raise TransferError(ErrorCode.UNSUPPORTED, "uploads are read-only")

    open_write = mkdir = remove = rename = _read_only  # type: ignore[assignment]

    def close(self) -> None:
        self._data.clear()
