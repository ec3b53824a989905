"""Exceptions the client raises, after seed 003's easy bindings.

Every failure of an API call is one of these, so a caller can catch
``ClientException`` and know it has seen every way a call can go wrong;
the message is the server's ``detail`` when there is one.

ClientException
├── BadEndpoint            the server cannot be reached, or is not a haul server
├── Unauthorized           401, 403: no, bad or expired token, or not allowed
├── ClientError            4xx the caller can fix (400, 409, 413, 422, ...)
│   ├── NotFound           404: unknown, or not the caller's
│   ├── NeedDelegation     419: a site credential is missing or expired
│   └── FailedDependency   424: a step the request relied on failed
└── ServerError            5xx
    └── TryAgain           503 (and 429 once retries run out): later may work
"""

from __future__ import annotations

__all__ = [
    "BadEndpoint",
    "ClientError",
    "ClientException",
    "FailedDependency",
    "NeedDelegation",
    "NotFound",
    "ServerError",
    "TryAgain",
    "Unauthorized",
    "from_status",
]


class ClientException(Exception):
    """Base of every client failure.

    ``status_code`` is the HTTP status when the server answered (``None``
    when it did not), and ``detail`` the server's own explanation, kept apart
    from the message so programs can show or match it without parsing.
    """

    def __init__(self, message: str, *, status_code: int | None = None,
                 detail: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.detail = detail if detail is not None else message


class BadEndpoint(ClientException):
    """The endpoint could not be contacted or did not answer like a haul server."""


class Unauthorized(ClientException):
    """The server refused the caller: no or bad token (401) or a missing role (403)."""


class ClientError(ClientException):
    """The request was wrong or came at the wrong time; retrying it unchanged will not help."""


class NotFound(ClientError):
    """The resource does not exist, or belongs to someone else (haul answers both alike)."""


class NeedDelegation(ClientError):
    """A site needs the user's credential first: log in to the site (``delegate``)."""


class FailedDependency(ClientError):
    """A step the request depended on failed, so the whole request was refused."""


class ServerError(ClientException):
    """The server failed; the request may have been fine."""


class TryAgain(ServerError):
    """The server cannot serve the request now but may later (503, or 429 after retries)."""


def from_status(status: int, detail: str, method: str, url: str) -> ClientException:
    """The exception for an HTTP error answer, with a message that says where it happened."""
    message = f"{method} {url}: {status} {detail}"
    cls: type[ClientException]
    if status in (401, 403):
        cls = Unauthorized
    elif status == 404:
        cls = NotFound
    elif status == 419:
        cls = NeedDelegation
    elif status == 424:
        cls = FailedDependency
    elif status in (429, 503):
        cls = TryAgain
    elif 400 <= status < 500:
        cls = ClientError
    elif status >= 500:
        cls = ServerError
    else:
        cls = ClientException
    return cls(message, status_code=status, detail=detail)
