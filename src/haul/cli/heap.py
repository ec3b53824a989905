"""The long-running processes' garbage collector settings.

A server or worker holds ~150,000 long-lived objects once its modules are
imported (FastAPI's models, SQLAlchemy's mappers and compiled statements,
Pydantic validators). CPython's full collection walks all of them, ~50-120 ms
on this project's 2-core machines, with every thread stopped: under 100
polling clients that showed as 250-430 ms stalls a few times a minute, the
whole p99 of `bench/api_load.py`. Freezing what exists at start-up moves it
out of the collector's sight (``gc.freeze``), so later full collections walk
only what requests allocate; a higher first threshold makes the young
collections, which every request's short-lived objects trigger, rarer.
Reference cycles made later are still collected.
"""

from __future__ import annotations

import gc

# Allocations (net of deallocations) between young collections; CPython's default is 700.
YOUNG_THRESHOLD = 20_000


def settle_heap() -> None:
    """Call once the process has imported and built what it keeps for its life."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
