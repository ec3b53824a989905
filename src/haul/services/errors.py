"""Errors the service layer raises; the API layer maps each to its HTTP status.

ServiceError
├── BadRequest          400  input that breaks a rule (names the field)
├── Unauthorized        401  no, bad, expired or revoked credentials
├── Forbidden           403  authenticated but not allowed
├── NotFound            404  unknown, or not the caller's
├── Conflict            409  wrong state, stale lease, duplicate
├── TooLarge            413  body or upload over its limit
└── CredentialNeeded    419  site credential missing or expired

A batch of the worker protocol answers each item with an ``Outcome``
(``protocol/items.py``) instead of raising; ``accepted_or_raise`` turns one
item's refusal back into the error above that the single-element route answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from haul.protocol.items import Outcome


class ServiceError(Exception):
    status: int = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(ServiceError):
    status = 400


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class TooLarge(ServiceError):
    status = 413


class CredentialNeeded(ServiceError):
    status = 419


A = TypeVar("A", bound=Mapping[str, Any])


def accepted_or_raise(answer: A) -> A:
    """One item's answer, as its single-element route gives it: the answer if it
    was accepted, else its refusal raised as the error of the same status.

    The one way back from an item's outcome to an error, so the single and the
    batch routes answer the same refusal with the same status.
    """
    code = answer["code"]
    if code == Outcome.ACCEPTED:
        return answer
    raise _REFUSED_AS[code](answer["detail"])


# A malformed item never reaches a service: a single route's body is validated
# before it is called (and answered 422 there); the batch's items are read one
# by one in the route. Should one arrive, it is bad input.
_REFUSED_AS: dict[Outcome, type[ServiceError]] = {
    Outcome.REFUSED: BadRequest,
    Outcome.UNKNOWN: NotFound,
    Outcome.STALE: Conflict,
    Outcome.MALFORMED: BadRequest,
}
