"""Handing the heap's free memory back to the system after large copies.

Why: the buffers of a large copy are megabytes each (XRootD answers 4 MiB
reads into a buffer its bindings allocate in the reading thread and copy
into a `bytes` in the client's callback thread; asyncssh joins SFTP blocks),
and glibc serves them from per-thread arenas above its mmap threshold, which
it raises to the size of the first large block freed. Freed, that memory
stays resident in the arena that allocated it: in the transfer benchmark a
worker that had finished its large copies still held ~110 MB in fifteen
arenas, carried into every case after (bench/RESULTS.md, "Worker RSS").

Returning it after every chunk is what a fixed `M_MMAP_THRESHOLD` does, and
it halved root-large's speed: a fresh page costs a fault and its zeroing
(~6 us per 4 KiB page on the benchmark's VM, 1.5 s of CPU per GiB). So the
worker trims only once TRIM_EVERY_BYTES have moved, and only when no large
copy is still running (whose buffers, freed for a moment, would be faulted
straight back in): `malloc_trim(0)` gives every whole free page of every
arena back (glibc >= 2.8), 3-8 ms of CPU after 4 x 256 MiB from XRootD
(bench/RESULTS.md), and the next large copy faults in only its own working
set again. Copies that follow each other without a pause reuse the same
memory, so nothing is trimmed between them.

Where glibc's `malloc_trim` is missing (musl, macOS) nothing happens.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("haul.worker")

# Bytes copied between trims: a fraction of one large file, so a worker that
# only moves small files trims rarely (each trim walks every arena).
TRIM_EVERY_BYTES = 64 * 1024 * 1024
# An element of at least this size is a large copy: no trim while one runs.
LARGE_BYTES = 4 * 1024 * 1024


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


class HeapTrimmer:
    """Counts the bytes elements moved; past `every`, the next element to end
    while no large one runs trims the heap."""

    def __init__(
        self, every: int = TRIM_EVERY_BYTES, trim: Callable[[int], int] | None = None
    ) -> None:
        self._every = every
        self._trim = trim if trim is not None else _malloc_trim()
        self._lock = threading.Lock()
        self._moved = 0
        self._large = 0  # large elements running
        self.trims = 0
        self.seconds = 0.0  # CPU time spent trimming (its cost, for the benchmarks)

    def begin(self, size: int) -> bool:
        """An element of `size` bytes starts; answers whether it is a large one
        (to be given to `end`)."""
        large = size >= LARGE_BYTES
        if large:
            with self._lock:
                self._large += 1
        return large

    def end(self, large: bool) -> None:
        """The element `begin` answered `large` for is no longer running."""
        if large:
            with self._lock:
                self._large -= 1

    def moved(self, size: int) -> None:
        """An element ended having moved `size` bytes (run on its thread, after `end`)."""
        if self._trim is None or size <= 0:
            return  # nothing moved: no count to take the lock for
        with self._lock:
            self._moved += max(0, size)
            if self._moved < self._every or self._large:
                return
            self._moved = 0
        began = time.thread_time()
        self._trim(0)
        spent = time.thread_time() - began
        with self._lock:
            self.trims += 1
            self.seconds += spent
        log.debug("heap trimmed (%.1f ms)", spent * 1e3)
