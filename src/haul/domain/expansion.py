"""Turning a finished LIST into the per-file elements of its job, as pdm did.

Pure: it consumes (directory, entry) pairs in listing order and yields element
plans, so the service can stream a 100,000-file listing through it and insert
in batches. Directory removals are staged after the files, deepest first, and
the top directory last; the claim query hands out one stage at a time.

Symbolic links arrive as entries of their own (``is_link``; never directories,
never walked into by the worker): a REMOVE removes the link itself, a COPY
skips it (the worker's LIST log says so; ``follow_links`` makes the worker
report what a link leads to instead, as plain files and directories).

The worker reports a listing keyed by directories in the job's own path
namespace. For a directory the root key is the job's path itself; for a plain
file the listing is ``{dirname(path): [entry for basename(path)]}``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from haul.domain.enums import JobType


@dataclass(frozen=True)
class PlannedElement:
    type: JobType
    src_filepath: str
    dst_filepath: str | None
    size: int
    stage: int = 0


def strip_slash(path: str) -> str:
    return path.rstrip("/") if path not in ("/",) and path.rstrip("/") else path


def parent_of(path: str) -> str:
    path = strip_slash(path)
    if path == "~" or path == "/":
        return path
    parent = posixpath.dirname(path)
    return parent if parent else "."


def _rel(root: str, directory: str) -> str | None:
    """``directory`` relative to ``root``, or None when it lies outside."""
    root = strip_slash(root)
    directory = strip_slash(directory)
    if directory == root:
        return ""
    prefix = root if root.endswith("/") else root + "/"
    if directory.startswith(prefix):
        return directory[len(prefix) :]
    return None


def _join(*parts: str) -> str:
    out = parts[0]
    for p in parts[1:]:
        if p:
            out = out.rstrip("/") + "/" + p if out not in ("",) else p
    return out


class Planner:
    """Consumes a listing stream and plans the elements that follow it."""

    def __init__(self, job_type: JobType, src: str, dst: str | None) -> None:
        self.job_type = job_type
        self.src = strip_slash(src)
        self.dst = strip_slash(dst) if dst is not None else None
        self.root_is_file: bool | None = None
        self.dirs: dict[str, int] = {}  # relative dir -> number of entries
        self.count = 0

    def plan(self, pairs: Iterable[tuple[str, Any]]) -> Iterator[PlannedElement]:
        if self.job_type == JobType.RENAME:
            # The listing only proved the source exists; the rename is one element.
            for _ in pairs:
                break
            yield PlannedElement(JobType.RENAME, self.src, self.dst, 0)
            return
        base = posixpath.basename(self.src)
        # Listings come grouped by directory: work out each directory's
        # relative path and the element paths' prefixes once, not per entry.
        last_dir: str | None = None
        rel_dir: str | None = None
        src_dir = dst_dir = ""
        for directory, entry in pairs:
            name, is_dir, size, is_link = _fields(entry)
            if directory != last_dir:
                last_dir, rel_dir = directory, _rel(self.src, directory)
                if rel_dir is not None:
                    src_dir = _join(self.src, rel_dir)
                    dst_dir = _join(self.dst, rel_dir) if self.dst is not None else ""
            if rel_dir is None:
                # The file case: the listing is keyed by the parent directory.
                if (
                    strip_slash(directory) == parent_of(self.src)
                    and name == base
                    and not is_dir
                    and self.root_is_file is not False
                ):
                    self.root_is_file = True
                    planned = self._file(self.src, self.dst, size, is_link)
                    if planned is not None:
                        yield planned
                continue
            self.root_is_file = False
            self.dirs[rel_dir] = self.dirs.get(rel_dir, 0) + 1
            if is_dir:
                self.dirs.setdefault(_join(rel_dir, name), 0)
                continue
            dst = _join(dst_dir, name) if self.dst is not None else None
            planned = self._file(_join(src_dir, name), dst, size, is_link)
            if planned is not None:
                yield planned
        if self.root_is_file:
            return
        self.dirs.setdefault("", 0)
        yield from self._directories()

    def _file(
        self, src: str, dst: str | None, size: int, is_link: bool = False
    ) -> PlannedElement | None:
        self.count += 1
        if self.job_type == JobType.COPY and not is_link:
            return PlannedElement(JobType.COPY, src, dst, size)
        if self.job_type == JobType.REMOVE:
            return PlannedElement(JobType.REMOVE, src, None, size)
        return None

    def _directories(self) -> Iterator[PlannedElement]:
        if self.job_type == JobType.COPY:
            # Files create their parents; only empty directories need a MKDIR.
            for rel, n in sorted(self.dirs.items()):
                if n == 0:
                    assert self.dst is not None
                    yield PlannedElement(
                        JobType.MKDIR, _join(self.src, rel), _join(self.dst, rel), 0
                    )
        elif self.job_type == JobType.REMOVE:
            depths = {rel: (rel.count("/") + 1 if rel else 0) for rel in self.dirs}
            deepest = max(depths.values(), default=0)
            for rel in sorted(self.dirs, key=lambda r: (-depths[r], r)):
                stage = 1 + deepest - depths[rel]
                yield PlannedElement(JobType.REMOVE, _join(self.src, rel), None, 0, stage=stage)


def _fields(entry: Any) -> tuple[str, bool, int, bool]:
    """(name, is_dir, size, is_link); a link is never a directory."""
    if isinstance(entry, dict):
        is_link = bool(entry.get("is_link", False))
        is_dir = bool(entry.get("is_dir", False)) and not is_link
        return str(entry["name"]), is_dir, int(entry.get("size", 0) or 0), is_link
    is_link = bool(getattr(entry, "is_link", False))
    return str(entry.name), bool(entry.is_dir) and not is_link, int(entry.size or 0), is_link
