"""Which elements are namespace operations, served in a lane of their own.

A user who lists a directory, makes one, renames or removes one path, or
starts a COPY (whose first element is the LIST that finds its files) is
waiting at a prompt; the same user's queued transfers can take hours. So
namespace operations never queue behind transfers: the claim hands them out
before transfers (services/namespace_lane.py), and a worker runs them first,
with one thread kept for them alone (worker/element_threads.py).

An element is a namespace operation when it is:

- a LIST, MKDIR or RENAME element (LISTs include the one that starts a COPY
  or a REMOVE job; MKDIRs include a COPY's empty directories), or
- the REMOVE of one path: the single removal a REMOVE job of a file (or of
  an empty directory) expands into. Its LIST is element 0, so it is element
  ONE_PATH_ID and names the job's own path. A tree's removals also start at
  element ONE_PATH_ID, but with a path inside the tree (the top directory
  comes last), so they stay transfers (removing 100,000 files is bulk work,
  not a prompt).

The rule is stated once here, as a function of an element and its job, and
once more as SQL in ``namespace_sql`` with the same constants, which the
claim's partial index ``ix_elements_lane`` is built on.
"""

from __future__ import annotations

from enum import StrEnum

from haul.domain.enums import JobStatus, JobType

# Element types that are namespace operations whatever they name.
NAMESPACE_TYPES = frozenset({JobType.LIST, JobType.MKDIR, JobType.RENAME})
# The element a REMOVE of one path expands into (its LIST is element 0).
ONE_PATH_ID = 1
# Threads a worker keeps for namespace operations beyond its --concurrency.
NAMESPACE_SLOTS = 1


def _type_number(element_type: int | str) -> int | None:
    if isinstance(element_type, int):
        return element_type
    try:
        return int(JobType[element_type.upper()])
    except KeyError:
        return None  # a custom type: never a namespace operation


def is_namespace(
    element_type: int | str,
    element_id: int,
    src_filepath: str | None,
    job_src_filepath: str | None,
) -> bool:
    """Whether an element runs in the namespace lane (see the module docstring).

    ``element_type`` is the element's type as a number (the server) or a
    name (a lease); custom types are never namespace operations.
    """
    number = _type_number(element_type)
    if number in NAMESPACE_TYPES:
        return True
    return (
        number == JobType.REMOVE
        and element_id == ONE_PATH_ID
        and src_filepath is not None
        and src_filepath == job_src_filepath
    )


def serves_namespace(types: list[str]) -> bool:
    """Whether a worker serving these element types can be handed namespace work."""
    names = {t.upper() for t in types}
    return bool(names & {t.name for t in NAMESPACE_TYPES}) or JobType.REMOVE.name in names


def namespace_sql(prefix: str = "") -> str:
    """The rule's part that needs no job, as SQL text over the elements table
    (``prefix``: its qualifier, such as ``"elements."``). The claim query and
    the partial index ``ix_elements_lane`` carry it literally: SQLite uses a
    partial index only for a query that repeats its WHERE term by term, with
    no bound parameters in their place. The claim adds the path check."""
    types = ", ".join(str(int(t)) for t in sorted(NAMESPACE_TYPES))
    p = prefix
    return (
        f"{p}status = {int(JobStatus.NEW)} AND ({p}type IN ({types}) OR "
        f"({p}type = {int(JobType.REMOVE)} AND {p}id = {ONE_PATH_ID}))"
    )


class ClaimLane(StrEnum):
    """Which work a claim asks for (the claim's optional `lane` field)."""

    ALL = "all"  # the namespace lane first, then transfers
    NAMESPACE = "namespace"  # only namespace operations: the worker's transfer slots are full
