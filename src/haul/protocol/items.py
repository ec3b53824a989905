"""What every item of a batch answer carries: its element's key, and its outcome.

A batch (heartbeats, results) is answered item by item, in the order sent;
each answer names its element as ``jobid``/``elementid`` and has a ``code``:
an ``Outcome``, sent as its number, the HTTP status the item alone would
have been answered with. A refused item adds a ``detail`` saying why.

The single-element routes send one item through the same service and answer
a refusal as that status (``services/errors.py: accepted_or_raise``, the one
mapping back), so the two routes cannot disagree on what an outcome means.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from typing_extensions import TypedDict

# The largest byte count or size a report may carry (the database's BIGINT).
MAX_BIGINT = 2**63 - 1


class Outcome(IntEnum):
    """How one item of a batch ended; its value is what the wire carries as ``code``."""

    ACCEPTED = 200
    REFUSED = 400  # a value a field's own check refused (an error report's scope, a listing)
    UNKNOWN = 404  # no such element, or not the caller's
    STALE = 409  # the lease is not (or no longer) current: the item changed nothing
    MALFORMED = 422  # the item does not parse (a field missing or of the wrong type)


class ItemRefusal(TypedDict):
    jobid: Any  # as sent (None when a malformed item had none)
    elementid: Any
    code: Outcome  # never ACCEPTED
    detail: str


def refusal(job_id: Any, element_id: Any, code: int, detail: str) -> ItemRefusal:
    """``code``: the refusal's HTTP status (a service error's ``status``), as an Outcome."""
    return {"jobid": job_id, "elementid": element_id, "code": Outcome(code), "detail": detail}
