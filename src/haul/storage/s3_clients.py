"""One boto3 client per S3 site and identity in a process, shared by its threads.

Why: the worker keeps its storages per thread (worker/site_storage.py), and
each S3 storage built its own botocore session and client: ~12-14 MB of
service model, endpoint rules and handlers each (measured in-process), so a
worker of four slots and its namespace lane held five copies, ~60 MB, once it
had touched one S3 site, and paid a client's ~0.1 s of start-up per thread.
botocore documents its clients as thread-safe (sessions are not: each client
here is made from its own sealed session, under a lock), and the connections
a client opens are checked against the site's network policy in the client
itself (s3_session.check_connections), so sharing one between threads that
open the same site with the same credential and access changes no request
and no trust decision. The key holds everything the client is built from.

Clients are counted: `acquire` hands out one use, `release` returns it, and
the last release closes the client, so a thread that drops its storages
after a connection error closes nothing the others still use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any


class SharedClients:
    """Clients by key, each made once and closed when its last user releases it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[Hashable, list[Any]] = {}  # key: [client, users]

    def acquire(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The client for `key`, made by `make` (under the lock) if none is open."""
        with self._lock:
            entry = self._clients.get(key)
            if entry is None:
                entry = self._clients[key] = [make(), 0]
            entry[1] += 1
            return entry[0]

    def release(self, key: Hashable) -> None:
        """One use of `key`'s client ended; the last closes it."""
        with self._lock:
            entry = self._clients.get(key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] > 0:
                return
            del self._clients[key]
        entry[0].close()

    def count(self) -> int:
        """How many clients are open (tests)."""
        with self._lock:
            return len(self._clients)


CLIENTS = SharedClients()
