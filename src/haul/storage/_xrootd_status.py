"""XRootD answers as haul errors: one table from the protocol's error numbers
(XProtocol.hh) and the client's own status codes to `ErrorCode`."""

from __future__ import annotations

from typing import Any, NoReturn

from haul.domain.errors import ErrorCode, TransferError

# XRootD protocol error numbers (XProtocol.hh) carried with errErrorResponse.
_SERVER_ERRNO: dict[int, ErrorCode] = {
    3000: ErrorCode.INVALID,
    3003: ErrorCode.CONNECTION,  # file locked: may clear
    3005: ErrorCode.INTERNAL,
    3007: ErrorCode.INTERNAL,
    3009: ErrorCode.NO_SPACE,
    3010: ErrorCode.PERMISSION_DENIED,
    3011: ErrorCode.NOT_FOUND,
    3012: ErrorCode.INTERNAL,
    3013: ErrorCode.UNSUPPORTED,
    3014: ErrorCode.CONNECTION,
    3015: ErrorCode.IS_A_DIRECTORY,
    3016: ErrorCode.IS_A_DIRECTORY,
    3017: ErrorCode.CANCELLED,
    3018: ErrorCode.EXISTS,
    3019: ErrorCode.CHECKSUM_MISMATCH,
    3021: ErrorCode.NO_SPACE,
    3024: ErrorCode.CONNECTION,
    3025: ErrorCode.PERMISSION_DENIED,
    3030: ErrorCode.NO_CREDENTIAL,
    3034: ErrorCode.TIMEOUT,
    3035: ErrorCode.TIMEOUT,
}
_CLIENT_CODE: dict[int, ErrorCode] = {
    103: ErrorCode.TIMEOUT,
    206: ErrorCode.TIMEOUT,
    203: ErrorCode.NO_CREDENTIAL,
    204: ErrorCode.NO_CREDENTIAL,
    304: ErrorCode.NOT_FOUND,
    305: ErrorCode.CHECKSUM_MISMATCH,
}
_ERROR_RESPONSE = 400


def translate(status: Any, path: str) -> TransferError:
    code_num = int(getattr(status, "code", 0) or 0)
    errno = int(getattr(status, "errno", 0) or 0)
    message = f"{path}: {str(getattr(status, 'message', '')).strip()}"
    if code_num == _ERROR_RESPONSE:
        code = _SERVER_ERRNO.get(errno, ErrorCode.INTERNAL)
    elif code_num in _CLIENT_CODE:
        code = _CLIENT_CODE[code_num]
    elif 100 <= code_num < 300:
        code = ErrorCode.CONNECTION  # socket and session errors
    else:
        code = ErrorCode.INTERNAL
    return TransferError(code, message)


def ok(status: Any, path: str) -> None:
    if not status.ok:
        raise translate(status, path)


def fail(status: Any, path: str) -> NoReturn:
    raise translate(status, path)
