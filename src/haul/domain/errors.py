"""The transfer error taxonomy shared by storage backends, workers and the server.

Every failure that crosses the worker/server boundary is described by three
facts, so that the scheduler can decide what to do without parsing messages:

    TransferError
    ├── code       what went wrong (ErrorCode), stable across protocols
    ├── scope      which side it happened on (ErrorScope)
    └── retryable  whether another attempt may succeed

Backends raise with scope TRANSFER because they do not know whether they are
being read from or written to; the copy engine re-scopes to SOURCE or
DESTINATION. This module is pure: no I/O, no protocol imports.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = ["ErrorCode", "ErrorScope", "TransferError", "default_retryable"]


class ErrorScope(StrEnum):
    SOURCE = "SOURCE"
    DESTINATION = "DESTINATION"
    TRANSFER = "TRANSFER"


class ErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    EXISTS = "EXISTS"
    CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH"
    SIZE_MISMATCH = "SIZE_MISMATCH"
    CONNECTION = "CONNECTION"
    TIMEOUT = "TIMEOUT"
    CANCELLED = "CANCELLED"
    LOST = "LOST"
    NO_CREDENTIAL = "NO_CREDENTIAL"
    NOT_A_DIRECTORY = "NOT_A_DIRECTORY"
    IS_A_DIRECTORY = "IS_A_DIRECTORY"
    NOT_EMPTY = "NOT_EMPTY"
    NO_SPACE = "NO_SPACE"
    INVALID = "INVALID"
    UNSUPPORTED = "UNSUPPORTED"
    INTERNAL = "INTERNAL"


# Failures that repeat identically on every attempt: retrying them only burns
# the attempt budget and delays the user's view of the real problem.
_PERMANENT = frozenset(
    {
        ErrorCode.NOT_FOUND,
        ErrorCode.PERMISSION_DENIED,
        ErrorCode.EXISTS,
        ErrorCode.NO_CREDENTIAL,
        ErrorCode.UNSUPPORTED,
        ErrorCode.CANCELLED,
        ErrorCode.NOT_A_DIRECTORY,
        ErrorCode.IS_A_DIRECTORY,
        ErrorCode.NOT_EMPTY,
        ErrorCode.NO_SPACE,
        ErrorCode.INVALID,
    }
)


def default_retryable(code: ErrorCode | str) -> bool:
    """Whether a failure with this code is worth another attempt by default.

    Unknown codes (e.g. from a newer worker) are treated as retryable: a wasted
    retry is cheaper than a job that fails for good on a transient problem.
    """
    try:
        return ErrorCode(code) not in _PERMANENT
    except ValueError:
        return True


class TransferError(Exception):
    """A failure of a storage operation, classified for the scheduler."""

    def __init__(
        self,
        code: ErrorCode | str,
        message: str = "",
        *,
        scope: ErrorScope | str = ErrorScope.TRANSFER,
        retryable: bool | None = None,
    ) -> None:
        self.code = ErrorCode(code)
        self.scope = ErrorScope(scope)
        self.retryable = default_retryable(self.code) if retryable is None else retryable
        self.message = message or self.code.value
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.scope.value} {self.code.value}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"TransferError(code={self.code.value!r}, scope={self.scope.value!r}, "
            f"retryable={self.retryable!r}, message={self.message!r})"
        )

    def with_scope(self, scope: ErrorScope | str) -> TransferError:
        """Re-scope in place (keeping the traceback) and return self for `raise`."""
        self.scope = ErrorScope(scope)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "scope": self.scope.value,
            "retryable": self.retryable,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TransferError:
        return cls(
            data.get("code", ErrorCode.INTERNAL),
            str(data.get("message", "")),
            scope=data.get("scope", ErrorScope.TRANSFER),
            retryable=data.get("retryable"),
        )
