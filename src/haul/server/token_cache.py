"""A short-lived memory of good tokens, so a client's next request skips the lookup.

Every request that carries a body pays, in the auth gate, a thread hop and
a read transaction for its token (bench/RESULTS.md, "Many jobs": ~9% of a
submission's server CPU, and one of its two hops). A client submitting many
jobs presents the same token each time, so the gate remembers a good
answer, by the token's hash, for ``TTL_SECONDS``.

How promptly a change is obeyed (the bound):

- Made through this server process (revoking a token, signing out, a
  password change, banning, deleting or changing a user): at once. Any
  commit of a session that wrote a ``users`` or ``tokens`` row (an ORM
  change or an UPDATE/DELETE statement on those tables) empties the cache
  and bumps its generation, so a lookup that read the old rows before that
  commit cannot store its answer afterwards.
- Made elsewhere (another server process on the same database, ``haul
  admin`` from the command line): within ``TTL_SECONDS`` (1 s) of the commit.
- A token's own expiry is checked on every use, cached or not.

Only good answers are kept: a refused token is looked up each time, so a
token that becomes valid is never refused from memory.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from haul.security.tokens import hash_token
from haul.services.users import Authenticated
from haul.store.clock import utcnow
from haul.store.tables import Token, User

TTL_SECONDS = 1.0
MAX_ENTRIES = 10_000  # bounded memory; when full, start afresh
_WATCHED = frozenset({User.__tablename__, Token.__tablename__})
_CHANGED = "haul_auth_rows_changed"


class TokenCache:
    def __init__(
        self, ttl: float = TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self.generation = 0
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Authenticated]] = {}

    def get(self, token: str) -> Authenticated | None:
        key = hash_token(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored, found = entry
        if self.clock() - stored >= self.ttl or (
            found.expires is not None and found.expires <= utcnow()
        ):
            self._entries.pop(key, None)
            return None
        return found

    def put(
        self, token: str, found: Authenticated, generation: int, read_at: float | None = None
    ) -> None:
        """Keeps ``found`` unless an auth change committed since ``generation`` was read.

        ``read_at`` (this cache's clock when the lookup began) starts its TTL: a
        change committed elsewhere while the lookup ran is obeyed within the TTL
        of that commit, not of the answer's arrival.
        """
        stamp = self.clock() if read_at is None else read_at
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[hash_token(token)] = (stamp, found)

    def invalidate(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()


# Every live cache of this process (an app's; tests make many), emptied by any
# commit that changed auth rows.
_CACHES: weakref.WeakSet[TokenCache] = weakref.WeakSet()


def new_cache() -> TokenCache:
    cache = TokenCache()
    _CACHES.add(cache)
    return cache


def _mark(session: Session) -> None:
    session.info[_CHANGED] = True


@event.listens_for(Session, "before_flush")
def _flushing(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, User | Token):
            _mark(session)
            return


@event.listens_for(Session, "do_orm_execute")
def _executing(state: Any) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if table is None or getattr(table, "name", None) in _WATCHED:
        _mark(state.session)


# The mark is not cleared on rollback: SQLAlchemy sends after_rollback for a
# SAVEPOINT's rollback too, and clearing it there would forget an auth change
# the outer transaction still commits. A mark left by a transaction that rolled
# back whole costs at most one needless emptying at the session's next commit.
@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        for cache in list(_CACHES):
            cache.invalidate()
