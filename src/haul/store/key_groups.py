"""(job, element) keys grouped into rectangles: jobs that share the same element ids.

A statement per job (``WHERE job_id = :job AND id IN (...)``) costs what a
statement costs, tens of microseconds of driver and SQLAlchemy work; for
many one-file jobs that is a statement per element. Jobs whose keys name
the same element ids (element 0 of each, or 1 of each) are one rectangle,
``WHERE job_id IN (...) AND id IN (...)``, which matches exactly those keys
and no others: every job of the group has every id of the group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

# Both IN lists share one statement's bound parameters (keyed_elements.CHUNK):
# at most SIDE jobs, and the rest of the budget for ids (a single big job
# keeps nearly the whole budget for its ids).
BUDGET = 900
SIDE = 450


def rectangles(keys: Iterable[tuple[int, int]]) -> Iterator[tuple[list[int], list[int]]]:
    """(job ids, element ids) pairs whose products are exactly ``keys`` (duplicates dropped)."""
    ids_of: dict[int, set[int]] = defaultdict(set)
    for job_id, element_id in keys:
        ids_of[job_id].add(element_id)
    jobs_of: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for job_id, ids in ids_of.items():
        jobs_of[tuple(sorted(ids))].append(job_id)
    for ids, jobs in jobs_of.items():
        per_jobs = min(len(jobs), SIDE)
        per_ids = BUDGET - per_jobs
        for j in range(0, len(jobs), per_jobs):
            for i in range(0, len(ids), per_ids):
                yield jobs[j : j + per_jobs], list(ids[i : i + per_ids])
