"""What every item of a batch answer carries: its element's key, and its refusal.

A batch (heartbeats, results) is answered item by item, in the order sent;
each answer names its element as ``jobid``/``elementid`` and has a ``code``,
an HTTP status: 200, or the status the item alone would have been refused
with (400, 404, 409, 422) and a ``detail`` saying why.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict

# The largest byte count or size a report may carry (the database's BIGINT).
MAX_BIGINT = 2**63 - 1


class ItemRefusal(TypedDict):
    jobid: Any  # as sent (None when a malformed item had none)
    elementid: Any
    code: int
    detail: str


def refusal(job_id: Any, element_id: Any, code: int, detail: str) -> ItemRefusal:
    return {"jobid": job_id, "elementid": element_id, "code": code, "detail": detail}
