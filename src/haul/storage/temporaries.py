"""Temporary names: where a copy writes before it publishes under the final name.

A copy lands in a hidden sibling of its destination and is renamed into
place only once verified, so a reader never sees a partial file. Names are
deterministic per attempt (``<job>-<element>-<attempt>``), so a retry can
find and sweep what an earlier, killed attempt left (worker/own_work.py).
"""

from __future__ import annotations

import random

from haul.domain.errors import TransferError
from haul.storage._base import Storage, basename, join, parent

_PART_MARK = ".haul-part-"
_MAX_NAME = 255


# Temporary names need uniqueness, not secrecy; a seeded PRNG spares a
# getrandom() system call per file on the hot path of small-file copies.
_NAMES = random.Random()


def temp_name_for(dst_path: str, tag: str | None = None) -> str:
    """A hidden sibling of `dst_path`: same directory, so the final rename stays
    server-side and atomic on every protocol that has an atomic rename.

    `tag` (e.g. ``<job>-<element>-<attempt>``) makes the name deterministic, so
    a retry can compute and remove the temporaries of earlier attempts; without
    it the name is random (one-off copies outside a job).
    """
    name = basename(dst_path)
    suffix = f"{_PART_MARK}{tag if tag is not None else f'{_NAMES.getrandbits(48):012x}'}"
    room = _MAX_NAME - len(suffix) - 1
    encoded = name.encode()
    if len(encoded) > room:
        name = encoded[:room].decode(errors="ignore")
    return join(parent(dst_path), f".{name}{suffix}")


def is_temp_name(path: str) -> bool:
    name = basename(path)
    return name.startswith(".") and _PART_MARK in name


def remove_temporaries(dst: Storage, dst_path: str, tags: list[str]) -> list[str]:
    """Best effort: removes the temporaries `dst_path` had under `tags`.

    Returns the names removed. A temporary that is not there (the usual case:
    the earlier attempt finished or never started writing) is skipped, and so
    is one that cannot be removed: the sweep must never fail the copy.
    """
    removed = []
    for tag in tags:
        temp = temp_name_for(dst_path, tag)
        try:
            dst.remove(temp)
        except TransferError:
            continue
        removed.append(temp)
    return removed
