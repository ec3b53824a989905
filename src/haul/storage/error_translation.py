"""From a protocol library's exceptions to `TransferError`: one mechanism, one table per family.

Every backend meets foreign errors (OSError, botocore, httpx/webdav4,
asyncssh, XRootD status objects) and must hand the copy engine and the
server a `TransferError` with a stable code. The mechanism is written once
here (as httpx maps httpcore's exceptions once): a `Translator` is an ordered
table of `Rule`s, each naming the exception types it handles and how to
build the error; the first rule that answers wins, and what no rule answers
is INTERNAL. Each backend family keeps its own table next to it
(`s3_errors`, `sftp_errors`, `webdav_errors`, `_xrootd_status`); the tables
every family shares, the errno table and the HTTP status table, are here.

Backends do not know which side of a copy they serve, so every error is
scoped TRANSFER; the copy engine re-scopes it (`scopes.in_scope`).
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from haul.domain.errors import ErrorCode, TransferError

# Builds the error for an exception and the path it concerns; None: "not this
# rule after all" (e.g. a wrapper whose inner error decides), the next rule is asked.
Make = Callable[[Any, str], TransferError | None]
Kinds = type[BaseException] | tuple[type[BaseException], ...]


def _where(path: str) -> str:
    return f"{path}: " if path else ""


def fixed(code: ErrorCode, template: str = "{where}{kind}: {exc}", **kwargs: Any) -> Make:
    """A rule's result of one code; `template` may name {path}, {where}, {kind}, {exc}.

    `{where}` is "path: " or nothing when no path is known; `{path}` is the
    path as given (the S3 and WebDAV messages always start with it).
    """

    def make(exc: Any, path: str) -> TransferError:
        message = template.format(path=path, where=_where(path), kind=type(exc).__name__, exc=exc)
        return TransferError(code, message, **kwargs)

    return make


@dataclass(frozen=True)
class Rule:
    """Exceptions of `kinds` become what `make` answers."""

    kinds: Kinds
    make: Make


@dataclass(frozen=True)
class Translator:
    """An ordered table of rules; callable as `translator(exc, path)`.

    `catches` is what `translated()` converts: a backend that means to let
    other exceptions through (the local backend converts OSError only) says so.
    """

    rules: Sequence[Rule]
    fallback: Make = fixed(ErrorCode.INTERNAL)
    catches: tuple[type[BaseException], ...] = (Exception,)

    def __call__(self, exc: BaseException, path: str = "") -> TransferError:
        if isinstance(exc, TransferError):
            return exc
        for rule in self.rules:
            if isinstance(exc, rule.kinds):
                made = rule.make(exc, path)
                if made is not None:
                    return made
        made = self.fallback(exc, path)
        assert made is not None, "a fallback always answers"
        return made

    @contextmanager
    def translated(self, path: str = "") -> Iterator[None]:
        """Runs the block; a foreign exception leaves it as a `TransferError`."""
        try:
            yield
        except TransferError:
            raise
        except self.catches as exc:
            raise self(exc, path) from exc


# -- errno: local disks, sockets, and whatever a library lets through --------

ERRNO_CODES: dict[int, ErrorCode] = {
    errno.ENOENT: ErrorCode.NOT_FOUND,
    errno.EACCES: ErrorCode.PERMISSION_DENIED,
    errno.EPERM: ErrorCode.PERMISSION_DENIED,
    errno.EROFS: ErrorCode.PERMISSION_DENIED,
    errno.EEXIST: ErrorCode.EXISTS,
    errno.ENOTDIR: ErrorCode.NOT_A_DIRECTORY,
    errno.EISDIR: ErrorCode.IS_A_DIRECTORY,
    errno.ENOTEMPTY: ErrorCode.NOT_EMPTY,
    errno.ENOSPC: ErrorCode.NO_SPACE,
    errno.EDQUOT: ErrorCode.NO_SPACE,
    errno.ETIMEDOUT: ErrorCode.TIMEOUT,
    errno.ECONNREFUSED: ErrorCode.CONNECTION,
    errno.ECONNRESET: ErrorCode.CONNECTION,
    errno.ECONNABORTED: ErrorCode.CONNECTION,
    errno.EHOSTUNREACH: ErrorCode.CONNECTION,
    errno.ENETUNREACH: ErrorCode.CONNECTION,
    errno.EPIPE: ErrorCode.CONNECTION,
    errno.EINVAL: ErrorCode.INVALID,
    errno.ENAMETOOLONG: ErrorCode.INVALID,
    errno.EOPNOTSUPP: ErrorCode.UNSUPPORTED,
}
# Without a known errno, the Python subclass says what it was; first match wins.
OSERROR_KINDS: tuple[tuple[Kinds, ErrorCode], ...] = (
    ((TimeoutError, socket.timeout), ErrorCode.TIMEOUT),
    ((ConnectionError, socket.gaierror), ErrorCode.CONNECTION),
    (FileNotFoundError, ErrorCode.NOT_FOUND),
    (PermissionError, ErrorCode.PERMISSION_DENIED),
)


def _from_oserror(exc: OSError, path: str) -> TransferError:
    code = ERRNO_CODES.get(exc.errno) if exc.errno is not None else None
    if code is None:
        code = next((c for kinds, c in OSERROR_KINDS if isinstance(exc, kinds)), ErrorCode.INTERNAL)
    detail = exc.strerror or str(exc) or type(exc).__name__
    return TransferError(code, f"{path}: {detail}" if path else detail)


OS_ERRORS = Translator([Rule(OSError, _from_oserror)], catches=(OSError,))


def from_oserror(exc: OSError, path: str = "") -> TransferError:
    """Classify an OSError by errno, falling back to its Python subclass."""
    return OS_ERRORS(exc, path)


# -- HTTP status: WebDAV, HTTP-TPC, S3's REST answers --------------------------

HTTP_STATUS_CODES: dict[int, ErrorCode] = {
    401: ErrorCode.NO_CREDENTIAL,
    403: ErrorCode.PERMISSION_DENIED,
    404: ErrorCode.NOT_FOUND,
    410: ErrorCode.NOT_FOUND,
    405: ErrorCode.UNSUPPORTED,
    501: ErrorCode.UNSUPPORTED,
    409: ErrorCode.NOT_FOUND,  # WebDAV's Conflict: a parent collection is missing
    412: ErrorCode.EXISTS,
    507: ErrorCode.NO_SPACE,
    408: ErrorCode.TIMEOUT,
    504: ErrorCode.TIMEOUT,
    429: ErrorCode.CONNECTION,
    502: ErrorCode.CONNECTION,
    503: ErrorCode.CONNECTION,
}


def http_status_code(status: int) -> ErrorCode:
    """The code of an HTTP status: the table, else any other 5xx INTERNAL, else INVALID."""
    code = HTTP_STATUS_CODES.get(status)
    if code is not None:
        return code
    return ErrorCode.INTERNAL if status >= 500 else ErrorCode.INVALID


def from_http_status(status: int, message: str) -> TransferError:
    """Classify an HTTP status (WebDAV, S3 REST) into a code."""
    return TransferError(http_status_code(status), f"HTTP {status}: {message}")
