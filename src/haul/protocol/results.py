"""Results: how an attempt ended, and the server's answer to each.

``PUT /worker/jobs/{jobid}/elements/{elementid}`` takes one ``ResultBody`` (its
element named by the path); ``PUT /worker/results`` a list of
``BulkResult``, which the worker builds as ``ResultItem``s. A failed
attempt carries an ``ErrorReport`` (``error_report``). Each item is
answered with the element's new status (``ResultAnswer``) or refused on its
own (``items.ItemRefusal``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from haul.protocol.error_report import ErrorDict, ErrorReport
from haul.protocol.items import MAX_BIGINT, ItemRefusal, Outcome


class ResultBody(BaseModel):
    token: str
    returncode: int = Field(ge=-(2**31), le=2**31 - 1)
    host: str = ""
    log: str = ""
    timestamp: str | None = None
    listing: dict[str, Any] | None = None  # a LIST's entries, by directory
    error: ErrorReport | None = None
    checksum: str | None = None
    bytes: int | None = Field(default=None, ge=0, le=MAX_BIGINT)
    size: int | None = Field(default=None, ge=0, le=MAX_BIGINT)
    verdict: dict[str, Any] | None = None  # a recover check's {same, reason}
    result: Any = None  # a custom job type's JSON result
    # A LIST's one file, copied in the same lease (services/fused_copy.py).
    file: ResultBody | None = None


class BulkResult(ResultBody):
    jobid: int
    elementid: int


class _ResultKeys(TypedDict):
    jobid: int
    elementid: int
    token: str


class ResultItem(_ResultKeys, total=False):
    """A ``BulkResult`` as the worker sends it: only what the attempt has to say."""

    returncode: int
    host: str
    log: str
    timestamp: str
    listing: dict[str, Any]
    error: ErrorDict
    checksum: str | None
    bytes: int | None
    size: int | None
    verdict: dict[str, Any]
    result: Any
    file: dict[str, Any]  # a fused one-file copy's result, as a ResultBody without the keys


class ResultAnswer(TypedDict):
    """The single route's answer; an item of the bulk answer adds ``code`` 200."""

    jobid: int
    elementid: int
    status: str  # JobStatus's name: the element's status after the result


class BulkResultAnswer(ResultAnswer):
    code: Outcome  # ACCEPTED


ResultReply = BulkResultAnswer | ItemRefusal


def result_answer(job_id: int, element_id: int, status: str) -> BulkResultAnswer:
    return {"jobid": job_id, "elementid": element_id, "code": Outcome.ACCEPTED, "status": status}
