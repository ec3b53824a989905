"""`dummy://` backend: a simulated storage for tests and benchmarks.

The URL describes a generated tree and its behaviour, so a benchmark can ask
for a million files without a disk holding them:

    dummy://NAME/PREFIX?files=N&size=BYTES&depth=D&dirs=K
                       &speed=BYTES_PER_S&fail_rate=P&fail_path=SUBSTRING&keep=1

(the query's words: `dummy_params`). Under PREFIX every directory holds N
files `file-00000.dat` ... of BYTES bytes each and, down to D levels, K
subdirectories `dir-000` ... . Reading a
generated file yields deterministic bytes (a function of its path), so two
reads agree and checksums are stable. Writes, mkdirs, removes and renames go
to an overlay shared by every `dummy://NAME` storage in the process; written
bytes are hashed while they stream and then dropped, unless `keep=1`, in
which case they are kept in memory and read back exactly.
"""

from __future__ import annotations

import io
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from haul.domain.errors import ErrorCode, TransferError
from haul.storage._base import BaseStorage, Entry, basename, join, normpath, parent
from haul.storage.dummy_params import DummyParams
from haul.storage.dummy_streams import Reader, Writer, Written, pattern_bytes, seed_of
from haul.storage.site_access import SiteAccess

__all__ = ["DummyStorage", "pattern_bytes", "reset", "stats"]

_MTIME = 1_700_000_000.0
_READ_BUFFER = 1024 * 1024


@dataclass
class _Space:
    """Overlay state of one dummy storage name, shared within the process."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    files: dict[str, Written] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    files_written: int = 0
    bytes_written: int = 0


_SPACES: dict[str, _Space] = {}
_SPACES_LOCK = threading.Lock()


def _space(name: str) -> _Space:
    with _SPACES_LOCK:
        return _SPACES.setdefault(name, _Space())


def reset(name: str | None = None) -> None:
    """Forget overlay state (all names, or one); for tests and benchmarks."""
    with _SPACES_LOCK:
        if name is None:
            _SPACES.clear()
        else:
            _SPACES.pop(name, None)


def stats(name: str) -> dict[str, int]:
    """Files and bytes committed to `dummy://NAME` in this process (benchmarks read it)."""
    space = _space(name)
    with space.lock:
        return {"files_written": space.files_written, "bytes_written": space.bytes_written}


class DummyStorage(BaseStorage):
    atomic_noreplace = True  # checked and renamed under the space's lock
    @classmethod
    def from_url(cls, url: str, credential: dict[str, Any], access: SiteAccess) -> DummyStorage:
        return cls(url)  # nothing to connect to, nothing to authenticate

    def __init__(self, url: str) -> None:
        params = DummyParams.from_url(url)
        self.name = params.name
        self.root = normpath(params.root)
        self.files = params.files
        self.size = params.size
        self.depth = params.depth
        self.dirs = params.dirs
        self.speed = params.speed
        self.fail_rate = params.fail_rate
        self.fail_path = params.fail_path
        self.keep = params.keep
        self._space = _space(self.name)
        self._random = random.Random() if self.fail_rate > 0 else None

    # -- the generated tree -------------------------------------------------

    def _generated(self, path: str) -> Entry | None:
        """The generated entry at `path`, ignoring the overlay."""
        if path == self.root or self.root.startswith(path.rstrip("/") + "/"):
            return Entry(path, basename(path), True, 0, _MTIME)
        if not self.files and not self.dirs:
            return None  # an empty tree: nothing below the root (e.g. a copy's target)
        prefix = self.root.rstrip("/") + "/"
        if not path.startswith(prefix):
            return None
        parts = path[len(prefix) :].split("/")
        for level, part in enumerate(parts[:-1], start=1):
            if not self._is_gen_dir(part, level):
                return None
        last, level = parts[-1], len(parts)
        if self._is_gen_dir(last, level):
            return Entry(path, last, True, 0, _MTIME)
        if self._is_gen_file(last):
            return Entry(path, last, False, self.size, _MTIME)
        return None

    def _is_gen_dir(self, name: str, level: int) -> bool:
        if level > self.depth or not name.startswith("dir-") or not name[4:].isdigit():
            return False
        return int(name[4:]) < self.dirs and name == f"dir-{int(name[4:]):03d}"

    def _is_gen_file(self, name: str) -> bool:
        stem = name.removeprefix("file-").removesuffix(".dat")
        if not name.startswith("file-") or not name.endswith(".dat") or not stem.isdigit():
            return False
        return int(stem) < self.files and name == f"file-{int(stem):05d}.dat"

    def _generated_children(self, path: str) -> Iterator[Entry]:
        if path != self.root and self.root.startswith(path.rstrip("/") + "/"):
            rest = self.root[len(path.rstrip("/")) + 1 :]
            child = join(path, rest.split("/")[0])
            yield Entry(child, basename(child), True, 0, _MTIME)
            return
        level = 0 if path == self.root else len(path[len(self.root.rstrip("/")) + 1 :].split("/"))
        for i in range(self.files):
            name = f"file-{i:05d}.dat"
            yield Entry(join(path, name), name, False, self.size, _MTIME)
        if level < self.depth:
            for k in range(self.dirs):
                name = f"dir-{k:03d}"
                yield Entry(join(path, name), name, True, 0, _MTIME)

    # -- overlay ------------------------------------------------------------

    def _lookup(self, path: str) -> Entry | None:
        """Reads without the lock: single dict/set probes are atomic in CPython, and
        writers order their steps (``deleted`` is marked before ``files`` lets go) so
        a reader sees the state before or after a change, never a removed file
        coming back from the generated tree. Taking the lock here made sixteen
        copy threads queue on it for every stat."""
        space = self._space
        written = space.files.get(path)
        if written is not None:
            return Entry(path, basename(path), False, written.size, written.mtime)
        if path in space.dirs:
            return Entry(path, basename(path), True, 0, _MTIME)
        if path in space.deleted:
            return None
        return self._generated(path)

    def _check_fail_path(self, path: str) -> None:
        if self.fail_path and self.fail_path in path:
            raise TransferError(ErrorCode.NOT_FOUND, f"{path}: injected failure (fail_path)")

    def _maybe_fail(self, path: str) -> None:
        self._check_fail_path(path)
        if self._random is not None and self._random.random() < self.fail_rate:
            raise TransferError(ErrorCode.CONNECTION, f"{path}: injected failure (fail_rate)")

    def _commit(self, path: str, written: Written, *, counted: bool = True) -> None:
        with self._space.lock:
            self._space.files[path] = written
            self._space.deleted.discard(path)
            if counted:
                self._space.files_written += 1
                self._space.bytes_written += written.size

    # -- Storage ------------------------------------------------------------

    def stat(self, path: str) -> Entry:
        path = normpath(path)
        self._check_fail_path(path)
        entry = self._lookup(path)
        if entry is None:
            raise TransferError(ErrorCode.NOT_FOUND, f"{path}: no such file or directory")
        return entry

    def exists(self, path: str) -> bool:
        # Same answer as the base class's stat-and-catch, without raising an
        # exception for every missing destination of a copy.
        path = normpath(path)
        if self.fail_path and self.fail_path in path:
            return False
        return self._lookup(path) is not None

    def _scandir(self, path: str) -> Iterator[Entry]:
        space = self._space
        seen: dict[str, Entry] = {}
        if self._generated(path) is not None:
            for entry in self._generated_children(path):
                seen[entry.name] = entry
        prefix = path.rstrip("/") + "/"
        with space.lock:
            for deleted in space.deleted:
                if parent(deleted) == path:
                    seen.pop(basename(deleted), None)
            for d in space.dirs:
                if d.startswith(prefix) and parent(d) == path:
                    seen[basename(d)] = Entry(d, basename(d), True, 0, _MTIME)
            for f, written in space.files.items():
                if f.startswith(prefix) and parent(f) == path:
                    seen[basename(f)] = Entry(f, basename(f), False, written.size, written.mtime)
        return iter(list(seen.values()))

    def open_read(self, path: str) -> BinaryIO:
        return self.open_sized(path)[0]

    def open_sized(self, path: str) -> tuple[BinaryIO, Entry]:
        """The stream and the stat from one lookup (the base class looks twice)."""
        entry = self.stat(path)
        if entry.is_dir:
            raise TransferError(ErrorCode.IS_A_DIRECTORY, f"{entry.path}: is a directory")
        self._maybe_fail(entry.path)
        written = self._space.files.get(entry.path)  # one atomic probe, as in _lookup
        if written is not None:
            size = written.size
            raw = Reader(size, written.seed, written.content, self.speed)
        else:
            size = entry.size
            raw = Reader(size, seed_of(entry.path), None, self.speed)
        # A buffer no bigger than the file: a 1 MiB one for each of a drain's
        # empty files was an allocation (and an mmap) per element.
        buffer = max(1, min(_READ_BUFFER, size + 1))
        return io.BufferedReader(raw, buffer_size=buffer), entry  # type: ignore[return-value]

    def open_write(self, path: str) -> BinaryIO:
        path = normpath(path)
        self._maybe_fail(path)
        up = self._lookup(parent(path))
        if up is None:
            raise TransferError(ErrorCode.NOT_FOUND, f"{parent(path)}: no such directory")
        if not up.is_dir:
            raise TransferError(ErrorCode.NOT_A_DIRECTORY, f"{parent(path)}: not a directory")
        existing = self._lookup(path)
        if existing is not None and existing.is_dir:
            raise TransferError(ErrorCode.IS_A_DIRECTORY, f"{path}: is a directory")
        return Writer(  # type: ignore[return-value]
            self.speed, self.keep, lambda written: self._commit(path, written), path
        )

    def mkdir(self, path: str, parents: bool = True) -> None:
        path = normpath(path)
        self._check_fail_path(path)
        with self._space.lock:
            existing = self._lookup(path)
            if existing is not None:
                if existing.is_dir:
                    return
                raise TransferError(ErrorCode.EXISTS, f"{path}: exists and is a file")
            up = parent(path)
            up_entry = self._lookup(up)
            if up_entry is None:
                if not parents:
                    raise TransferError(ErrorCode.NOT_FOUND, f"{up}: no such directory")
                self.mkdir(up, parents=True)
            elif not up_entry.is_dir:
                raise TransferError(ErrorCode.NOT_A_DIRECTORY, f"{up}: not a directory")
            self._space.dirs.add(path)
            self._space.deleted.discard(path)

    def remove(self, path: str) -> None:
        entry = self.stat(path)
        with self._space.lock:
            if entry.is_dir and any(True for _ in self._scandir(entry.path)):
                raise TransferError(ErrorCode.NOT_EMPTY, f"{entry.path}: directory not empty")
            if self._generated(entry.path) is not None:
                self._space.deleted.add(entry.path)  # first: see _lookup
            self._space.files.pop(entry.path, None)
            self._space.dirs.discard(entry.path)

    def rename(self, src: str, dst: str) -> None:
        with self._space.lock:
            self._rename(self.stat(src), normpath(dst))

    def rename_noreplace(self, src: str, dst: str) -> None:
        """Checked and renamed under the space's lock: no writer slips in between."""
        entry = self.stat(src)
        dst = normpath(dst)
        with self._space.lock:
            if self._lookup(dst) is not None:
                raise TransferError(ErrorCode.EXISTS, f"{dst}: exists")
            self._rename(entry, dst)

    def _rename(self, entry: Entry, dst: str) -> None:
        """Under the lock: `entry` (stat before it, still there) becomes `dst`."""
        if entry.is_dir:
            if any(True for _ in self._scandir(entry.path)):
                raise TransferError(
                    ErrorCode.UNSUPPORTED, "dummy storage renames only empty directories"
                )
            self.remove(entry.path)
            self.mkdir(dst, parents=False)
            return
        up = self._lookup(parent(dst))
        if up is None or not up.is_dir:
            raise TransferError(ErrorCode.NOT_FOUND, f"{parent(dst)}: no such directory")
        space = self._space
        written = space.files.get(entry.path)
        if written is None:
            # A generated file keeps its bytes under the new name.
            written = Written(entry.size, _MTIME, {}, None, seed_of(entry.path))
            space.deleted.add(entry.path)  # first: see _lookup
        else:
            if self._generated(entry.path) is not None:
                space.deleted.add(entry.path)
            del space.files[entry.path]
        self._commit(dst, written, counted=False)

    def checksum(self, path: str, algorithm: str) -> str | None:
        path = normpath(path)
        with self._space.lock:
            written = self._space.files.get(path)
        if written is None:
            return None
        return written.checksums.get(algorithm.lower())
