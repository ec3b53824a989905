"""An S3 tree listed in one pass (storage/s3_tree.py), against moto: the same
entries in the same order as one delimited listing per directory, in one request."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from haul.storage._base import BaseStorage
from haul.storage.schemes import open_storage
from tests.servers.fixtures import S3_BUCKET, StorageServer


def _listings(log: Path, start: int) -> int:
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.strip()][start:]
    return sum(1 for r in lines if r["method"] == "GET" and "list-type=2" in r["url"])


def _seen(log: Path) -> int:
    return len([x for x in log.read_text().splitlines() if x.strip()])


def _rows(entries: Any) -> list[tuple[str, bool, int]]:
    return [(e.path, e.is_dir, e.size) for e in entries]


def test_a_tree_is_one_listing_with_the_entries_a_walk_per_directory_gives(
    s3_recorded_server: StorageServer,
) -> None:
    s3 = s3_recorded_server
    assert s3.request_log is not None
    storage = open_storage(s3.endpoint_url, s3.credential)
    top = f"/{S3_BUCKET}/tree-{uuid.uuid4().hex[:8]}"
    for key in ("a.txt", "d1/b.txt", "d1/deep/c.txt", "d2/e.txt", "d2/f.txt", "name", "name/g"):
        storage._client.put_object(
            Bucket=S3_BUCKET, Key=f"{top[1:].split('/', 1)[1]}/{key}", Body=b"x" * len(key)
        )
    storage.mkdir(f"{top}/empty")  # a directory that is only its marker
    storage._client.put_object(
        Bucket=S3_BUCKET, Key=f"{top[1:].split('/', 1)[1]}/d3//odd", Body=b"?"
    )  # an empty component: no delimited listing shows it

    def per_directory(depth: int, skip: str = "") -> list[tuple[str, bool, int]]:
        descend = (lambda e: e.name != skip) if skip else None
        return _rows(BaseStorage._walk(storage, top, 1, depth, descend))

    for depth, skip in ((0, ""), (2, ""), (0, "d1"), (1, "")):
        start = _seen(s3.request_log)
        descend = (lambda e, s=skip: e.name != s) if skip else None
        got = _rows(storage.list(top, depth=depth, descend=descend))
        listings = _listings(s3.request_log, start)
        assert got == per_directory(depth, skip), (depth, skip)
        # The top's stat (a prefix: HEAD, then a listing of 2 keys) and the tree;
        # the walk per directory lists each directory it enters.
        assert listings == 2, (depth, skip, listings)
    everything = [p[len(top) + 1 :] for p, _, _ in per_directory(0)]
    assert everything == [
        "a.txt",
        "d1",
        "d2",
        "d3",
        "empty",
        "name",
        "name",
        "d1/b.txt",
        "d1/deep",
        "d1/deep/c.txt",
        "d2/e.txt",
        "d2/f.txt",
        "name/g",
    ]
