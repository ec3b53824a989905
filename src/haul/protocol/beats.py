"""Heartbeats: a running element's progress, and the server's answer to it.

``PUT /worker/jobs/{jobid}/elements/{elementid}/monitoring`` takes one
``HeartbeatBody`` (its element named by the path); ``PUT /worker/monitoring``
a list of ``BulkHeartbeat``, which the worker builds as ``HeartbeatItem``s.
A beat extends the lease and is answered with the command waiting for the
element (``Command.CANCEL`` when its job is cancelled, or an admin's
command, delivered once) and the lease's new end.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from haul.protocol.items import MAX_BIGINT, ItemRefusal, Outcome


class HeartbeatBody(BaseModel):
    token: str
    transferred: int = Field(default=0, ge=0, le=MAX_BIGINT)
    elapsed: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    instant: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    average: float = Field(default=0.0, ge=0, allow_inf_nan=False)


class BulkHeartbeat(HeartbeatBody):
    jobid: int
    elementid: int


class HeartbeatItem(TypedDict):
    """A ``BulkHeartbeat`` as the worker sends it."""

    jobid: int
    elementid: int
    token: str
    transferred: int
    elapsed: float
    instant: float
    average: float


class BeatAnswer(TypedDict):
    """The single route's answer; an item of the bulk answer adds ``code`` 200."""

    jobid: int
    elementid: int
    command: str | None
    lease_expires: str  # ISO 8601, the server's clock


class BulkBeatAnswer(BeatAnswer):
    code: Outcome  # ACCEPTED


BeatReply = BulkBeatAnswer | ItemRefusal


def beat_answer(job_id: int, element_id: int, command: str | None, expires: str) -> BulkBeatAnswer:
    return {
        "jobid": job_id,
        "elementid": element_id,
        "code": Outcome.ACCEPTED,
        "command": command,
        "lease_expires": expires,
    }


def single_answer(answer: BulkBeatAnswer) -> BeatAnswer:
    """The single route's form of an accepted beat: the bulk item without its code."""
    return {
        "jobid": answer["jobid"],
        "elementid": answer["elementid"],
        "command": answer["command"],
        "lease_expires": answer["lease_expires"],
    }
