"""The error report: why an attempt failed, as a result carries it.

``{code, scope, retryable, message}``, the JSON form of
``domain.errors.TransferError`` (its ``to_dict``, which the worker sends).
``ErrorReport`` is the one parser of it: the results routes validate a
result's ``error`` with it, judging reads the parsed report, metrics label
failures by it. Its rules are the server's as they were:

- ``code`` is read in any case; a known one becomes its ``ErrorCode``, an
  unknown one (a newer worker's) is kept as text and is retryable by default
  (``domain.errors.default_retryable``), never refused; empty means INTERNAL.
- ``scope`` is read in any case and must be an ``ErrorScope`` (empty means
  TRANSFER); anything else is refused with 400 naming ``error.scope``.
- ``retryable`` is a boolean, ``message`` text, kept to its first 4000
  characters.

A failed result without an error is judged as ``NO_DETAILS``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator
from typing_extensions import TypedDict

from haul.domain.errors import ErrorCode, ErrorScope

MAX_MESSAGE = 4000


class ErrorDict(TypedDict):
    """The report as JSON: what the worker sends and what an attempt stores."""

    code: str
    scope: str
    retryable: bool
    message: str


def _code(value: str) -> ErrorCode | str:
    value = value.upper() or ErrorCode.INTERNAL.value
    return ErrorCode(value) if value in ErrorCode.__members__ else value


def _scope(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    value = value.upper() or ErrorScope.TRANSFER.value
    if value not in ErrorScope.__members__:
        # A ValueError: the API answers 400 naming the field (error.scope: ...).
        raise ValueError("expected SOURCE, DESTINATION or TRANSFER")
    return ErrorScope(value)


class ErrorReport(BaseModel):
    # An ErrorCode when known, else the (upper-cased) text a newer worker sent.
    code: Annotated[str, AfterValidator(_code)] = ErrorCode.INTERNAL
    scope: Annotated[ErrorScope, BeforeValidator(_scope)] = ErrorScope.TRANSFER
    retryable: bool = True
    message: Annotated[str, AfterValidator(lambda m: m[:MAX_MESSAGE])] = ""

    def as_dict(self) -> ErrorDict:
        """The stored form: plain strings, as an attempt's ``error`` has always held."""
        return {
            "code": str(self.code),
            "scope": self.scope.value,
            "retryable": self.retryable,
            "message": self.message,
        }


NO_DETAILS = ErrorReport(message="the worker reported a failure without details")
