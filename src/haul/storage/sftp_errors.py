"""asyncssh's exceptions as `TransferError` codes.

SFTP status codes map one to one where the protocol has one; OpenSSH's
server (protocol 3) reports most failures as the generic FX_FAILURE, which
stays INTERNAL (retryable) like any unexplained failure.
"""

from __future__ import annotations

import asyncio

import asyncssh

from haul.domain.errors import ErrorCode, TransferError
from haul.storage._errors import from_oserror

_STATUS: dict[int, ErrorCode] = {
    asyncssh.FX_NO_SUCH_FILE: ErrorCode.NOT_FOUND,
    asyncssh.FX_NO_SUCH_PATH: ErrorCode.NOT_FOUND,
    asyncssh.FX_PERMISSION_DENIED: ErrorCode.PERMISSION_DENIED,
    asyncssh.FX_WRITE_PROTECT: ErrorCode.PERMISSION_DENIED,
    asyncssh.FX_NO_CONNECTION: ErrorCode.CONNECTION,
    asyncssh.FX_CONNECTION_LOST: ErrorCode.CONNECTION,
    asyncssh.FX_OP_UNSUPPORTED: ErrorCode.UNSUPPORTED,
    asyncssh.FX_FILE_ALREADY_EXISTS: ErrorCode.EXISTS,
    asyncssh.FX_NO_SPACE_ON_FILESYSTEM: ErrorCode.NO_SPACE,
    asyncssh.FX_QUOTA_EXCEEDED: ErrorCode.NO_SPACE,
    asyncssh.FX_DIR_NOT_EMPTY: ErrorCode.NOT_EMPTY,
    asyncssh.FX_NOT_A_DIRECTORY: ErrorCode.NOT_A_DIRECTORY,
    asyncssh.FX_FILE_IS_A_DIRECTORY: ErrorCode.IS_A_DIRECTORY,
    asyncssh.FX_INVALID_FILENAME: ErrorCode.INVALID,
}


def translate(exc: BaseException, path: str = "") -> TransferError:
    if isinstance(exc, TransferError):
        return exc
    where = f"{path}: " if path else ""
    if isinstance(exc, asyncssh.SFTPError):
        code = _STATUS.get(exc.code, ErrorCode.INTERNAL)
        return TransferError(code, f"{where}{exc.reason or type(exc).__name__}")
    if isinstance(exc, asyncssh.PermissionDenied):
        return TransferError(ErrorCode.NO_CREDENTIAL, f"{where}SSH authentication failed: {exc}")
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return TransferError(
            ErrorCode.PERMISSION_DENIED, f"{where}SSH host key not accepted: {exc}", retryable=False
        )
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return TransferError(ErrorCode.TIMEOUT, f"{where}timed out")
    if isinstance(exc, asyncssh.Error | asyncssh.ChannelOpenError | EOFError):
        return TransferError(ErrorCode.CONNECTION, f"{where}{type(exc).__name__}: {exc}")
    if isinstance(exc, OSError):
        return from_oserror(exc, path)
    return TransferError(ErrorCode.INTERNAL, f"{where}{type(exc).__name__}: {exc}")
