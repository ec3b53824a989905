"""A LIST element: walking a tree into the listing the server expands.

Two rules live here (docs/storage.md):

- Symbolic links are listed as links (``is_link``) and never walked into. A
  COPY skips them, saying so in the LIST's log; with ``extra_opts.follow_links``
  a COPY's listing follows them instead, within the storage's containment
  (a link leading outside the worker's ``--file-root`` is skipped with the
  reason) and never around a loop. A REMOVE never follows a link: the link
  itself is removed, and the path a REMOVE names is not followed either.
- A name that is not valid UTF-8 cannot travel in the JSON protocol, so it is
  skipped, one log line per entry naming it with backslash escapes, and never
  enters the listing (nor is its directory walked).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any

from haul.domain.enums import JobType
from haul.domain.errors import ErrorCode, ErrorScope, TransferError
from haul.domain.expansion import parent_of, strip_slash
from haul.storage import Storage
from haul.storage._base import Entry


def reportable(name: str) -> bool:
    """Whether a name can be sent (UTF-8); OS names carry bad bytes as surrogates."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def escaped(text: str) -> str:
    """A name with its undecodable bytes shown as ``\\xNN``: safe to log and send."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _row(entry: Entry, *, size: int | None = None, is_dir: bool | None = None) -> dict[str, Any]:
    return {
        "name": entry.name,
        "size": entry.size if size is None else size,
        "is_dir": entry.is_dir if is_dir is None else is_dir,
        "mtime": entry.mtime,
    }


def _link_row(entry: Entry) -> dict[str, Any]:
    return {"name": entry.name, "size": 0, "is_dir": False, "mtime": entry.mtime, "is_link": True}


class TreeLister:
    """Builds one LIST's listing, keyed by directory in the job's own path space."""

    def __init__(
        self,
        storage: Storage,
        path: str,
        job_root: str,
        *,
        job_type: str,
        follow_links: bool,
        say: Callable[[str], None],
        cancelled: Callable[[], bool],
        shown: str | None = None,
    ) -> None:
        self.storage = storage
        self.path = strip_slash(path)
        self.shown = shown or self.path  # for the log: SITE:PATH (resolved ...)
        self.job_root = strip_slash(job_root)
        self.job_type = job_type
        self.follow = follow_links and job_type != JobType.REMOVE.name
        self.say = say
        self.cancelled = cancelled
        self.listing: dict[str, list[dict[str, Any]]] = {}
        self.count = 0
        self.skipped = 0

    def run(self, depth: int) -> dict[str, Any]:
        try:
            # A REMOVE acts on the named path itself: a link there is unlinked,
            # never entered. LIST and COPY follow the path they were given.
            top = (
                self.storage.lstat(self.path)
                if self.job_type == JobType.REMOVE.name
                else self.storage.stat(self.path)
            )
        except TransferError as exc:
            raise exc.with_scope(ErrorScope.SOURCE) from None
        if not top.is_dir:
            row = _link_row(top) if top.is_link else _row(top)
            row["name"] = posixpath.basename(self.job_root)
            what = f"a symbolic link to {top.target}" if top.is_link else "a file"
            self.say(f"{self.shown} is {what} of {top.size} bytes")
            return {"listing": {parent_of(self.job_root): [row]}, "size": top.size}
        self.listing[self.job_root] = []
        real = self.storage.realpath(self.path) if self.follow else self.path
        self._walk(self.path, depth, 0, [real])
        self.say(f"listed {self.count} entries under {self.shown}")
        if self.skipped:
            self.say(f"skipped {self.skipped} entries (see above)")
        return {"listing": self.listing}

    def _key(self, directory: str) -> str:
        rel = directory[len(self.path) :].lstrip("/") if directory != self.path else ""
        return self.job_root if not rel else f"{self.job_root.rstrip('/')}/{rel}"

    def _rel(self, path: str) -> str:
        return escaped(path[len(self.path) :].lstrip("/") or posixpath.basename(path))

    def _walk(self, path: str, depth: int, base: int, chain: list[str]) -> None:
        """Lists `path` (a directory `base` levels below the job's path)."""
        for entry in self.storage.list(path, depth=depth, descend=lambda e: reportable(e.name)):
            if self.cancelled():
                raise TransferError(ErrorCode.CANCELLED, "listing cancelled")
            if not reportable(entry.name):
                self.skipped += 1
                self.say(
                    f"skipped {self._rel(entry.path)}: the name is not valid UTF-8 "
                    "(haul lists, copies and removes only UTF-8 names)"
                )
                continue
            directory = posixpath.dirname(strip_slash(entry.path))
            rows = self.listing.setdefault(self._key(directory), [])
            if entry.is_link:
                level = base + entry.path[len(path) :].strip("/").count("/") + 1
                rows.append(self._link(entry, depth, level, chain))
            else:
                rows.append(_row(entry))
            self.count += 1

    def _link(self, entry: Entry, depth: int, level: int, chain: list[str]) -> dict[str, Any]:
        """The listing row for a link: the link itself, or what it leads to."""
        shown = f"{self._rel(entry.path)} -> {escaped(entry.target or '?')}"
        if not self.follow:
            if self.job_type == JobType.COPY.name:
                self.skipped += 1
                self.say(f"skipped symlink {shown} (extra_opts.follow_links copies its target)")
            return _link_row(entry)
        try:
            target = self.storage.stat(entry.path)
        except TransferError as exc:
            self.skipped += 1
            self.say(f"skipped symlink {shown}: {exc.code}: {exc.message}")
            return _link_row(entry)
        if not target.is_dir:
            self.say(f"followed symlink {shown}")
            return _row(entry, size=target.size, is_dir=False)
        real = self.storage.realpath(entry.path)
        here = self.storage.realpath(posixpath.dirname(entry.path))
        if any(_within(p, real) for p in (*chain, here)):
            self.skipped += 1
            self.say(f"skipped symlink {shown}: a loop (it leads to a directory above it)")
            return _link_row(entry)
        self.say(f"followed symlink {shown}")
        if depth <= 0 or level < depth:
            self._walk(entry.path, depth - level if depth > 0 else 0, level, [*chain, real])
        return _row(entry, size=0, is_dir=True)


def _within(path: str, ancestor: str) -> bool:
    return path == ancestor or path.startswith(ancestor.rstrip("/") + "/")
