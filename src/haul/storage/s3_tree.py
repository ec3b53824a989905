"""A whole S3 prefix listed in one pass, walked as the directory tree it stands for.

Why: the generic walk (`BaseStorage._walk`) lists each directory with its own
request (`Delimiter="/"`), so a tree of 1,000 keys in 10 prefixes costs 11
listings, each a full request through botocore and, against the benchmark's
moto, a scan of the bucket. Without the delimiter one paginated listing
answers every key under the prefix (1,000 per page); the directories are the
keys' own prefixes. The walk over that tree is the generic one: the same
entries, the same order (a directory's children sorted by name, then its
subdirectories in turn), `descend` and `depth` obeyed, and of a key with an
empty path component (`a//b`) only what a delimited listing shows (`a`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from haul.storage._base import Entry, join

Tree = dict[str, dict[tuple[str, bool], Entry]]  # directory: {(name, is_dir): entry}


def tree_of(path: str, prefix: str, pages: Iterable[dict[str, Any]]) -> Tree:
    """The directories under `path` (whose keys start with `prefix`) and their children."""
    tree: Tree = {path: {}}
    for page in pages:
        for obj in page.get("Contents", []):
            parts = obj["Key"][len(prefix) :].split("/")
            # The last part names a file; "" there: the key is a directory's marker.
            # A key with an empty part inside shows the directories before it only.
            dirs, name = parts[:-1], parts[-1]
            if "" in dirs:
                dirs, name = dirs[: dirs.index("")], ""
            where = path
            for part in dirs:
                here = join(where, part)
                tree[where].setdefault((part, True), Entry(here, part, True, 0, None))
                tree.setdefault(here, {})
                where = here
            if name:
                mtime = obj["LastModified"].timestamp() if "LastModified" in obj else None
                tree[where].setdefault(
                    (name, False), Entry(join(where, name), name, False, int(obj["Size"]), mtime)
                )
    return tree


def walk(
    tree: Tree, path: str, level: int, depth: int, descend: Callable[[Entry], bool] | None
) -> Iterator[Entry]:
    """`BaseStorage._walk` over `tree` instead of one listing per directory."""
    # By name, a directory before a file of the same name (as a delimited listing).
    children = sorted(tree.get(path, {}).values(), key=lambda e: (e.name, not e.is_dir))
    subdirs: list[Entry] = []
    for entry in children:
        yield entry
        if entry.is_dir and (descend is None or descend(entry)):
            subdirs.append(entry)
    if depth <= 0 or level < depth:
        for sub in subdirs:
            yield from walk(tree, sub.path, level + 1, depth, descend)
