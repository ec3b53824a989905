"""Destination directories a worker knows exist, per job and destination endpoint.

A COPY of a tree writes many files into each directory; checking (and
making) the directory before every file is a round trip per file that only
the first one needs. The copy engine records directories it has made or
seen a file in, and forgets one after any failure there (copy.py), so a
directory removed behind the worker's back costs one failed attempt at most.
The memory is per job, so another job (another user, other permissions)
always checks for itself, and bounded: old jobs are dropped, and a job
with very many directories starts over.
"""

from __future__ import annotations

import threading

MAX_JOBS = 64  # jobs remembered at once (the oldest go first)
MAX_DIRS = 100_000  # directories remembered per job and endpoint


class KnownDirs:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: dict[tuple[int, str], set[str]] = {}

    def of(self, job_id: int, endpoint: str) -> set[str]:
        """The set for one job's destination endpoint (the copy engine adds and discards)."""
        key = (job_id, endpoint)
        dirs = self._sets.get(key)  # the hot path: no lock (a dict read is atomic)
        if dirs is not None and len(dirs) <= MAX_DIRS:
            return dirs
        with self._lock:
            dirs = self._sets[key] = set()
            while len(self._sets) > MAX_JOBS:  # the oldest job first
                self._sets.pop(next(iter(self._sets)))
            return dirs
