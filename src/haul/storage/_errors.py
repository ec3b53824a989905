"""Translation of library and OS exceptions into `TransferError`.

Kept in one place so that every backend classifies the same errno the same
way; protocol-specific mappings (HTTP status, S3 error codes, XRootD status)
live with their backend.
"""

from __future__ import annotations

import errno
import socket

from haul.domain.errors import ErrorCode, TransferError

_ERRNO_CODES: dict[int, ErrorCode] = {
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


def from_oserror(exc: OSError, path: str = "") -> TransferError:
    """Classify an OSError by errno, falling back to its Python subclass."""
    code: ErrorCode | None = _ERRNO_CODES.get(exc.errno) if exc.errno is not None else None
    if code is None:
        if isinstance(exc, (TimeoutError, socket.timeout)):
            code = ErrorCode.TIMEOUT
        elif isinstance(exc, ConnectionError | socket.gaierror):
            code = ErrorCode.CONNECTION
        elif isinstance(exc, FileNotFoundError):
            code = ErrorCode.NOT_FOUND
        elif isinstance(exc, PermissionError):
            code = ErrorCode.PERMISSION_DENIED
        else:
            code = ErrorCode.INTERNAL
    detail = exc.strerror or str(exc) or type(exc).__name__
    message = f"{path}: {detail}" if path else detail
    return TransferError(code, message)


def from_http_status(status: int, message: str) -> TransferError:
    """Classify an HTTP status (WebDAV, S3 REST) into a code."""
    if status == 401:
        code = ErrorCode.NO_CREDENTIAL
    elif status == 403:
        code = ErrorCode.PERMISSION_DENIED
    elif status in (404, 410):
        code = ErrorCode.NOT_FOUND
    elif status in (405, 501):
        code = ErrorCode.UNSUPPORTED
    elif status == 409:
        # WebDAV answers 409 Conflict when a parent collection is missing.
        code = ErrorCode.NOT_FOUND
    elif status == 412:
        code = ErrorCode.EXISTS
    elif status == 507:
        code = ErrorCode.NO_SPACE
    elif status in (408, 504):
        code = ErrorCode.TIMEOUT
    elif status in (429, 502, 503):
        code = ErrorCode.CONNECTION
    elif status >= 500:
        code = ErrorCode.INTERNAL
    else:
        code = ErrorCode.INVALID
    return TransferError(code, f"HTTP {status}: {message}")
