"""Values remembered by a lease payload's dict itself, not by its contents.

Every element of a claim carries the same site dicts, so what the worker
works out from one (its endpoint, its access rules, this thread's storage)
can be found again by the dict's identity in a dict lookup, instead of
hashing the access and credential per file. An entry holds its dict, so an
`id` reused after the dict is freed never finds another dict's entry; the
memo is emptied when it reaches its bound (a worker sees few sites at once).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class IdentityMemo(Generic[V]):
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._entries: dict[tuple[int, Hashable], tuple[object, V]] = {}

    def get(self, owner: object, key: Hashable = None) -> V | None:
        hit = self._entries.get((id(owner), key))
        return hit[1] if hit is not None and hit[0] is owner else None

    def put(self, owner: object, key: Hashable, value: V) -> V:
        if len(self._entries) >= self._limit:
            self._entries.clear()
        self._entries[(id(owner), key)] = (owner, value)
        return value

    def clear(self) -> None:
        self._entries.clear()
