"""asyncssh's exceptions as `TransferError`: the SFTP backend's translation table.

SFTP status codes map one to one where the protocol has one; OpenSSH's
server (protocol 3) reports most failures as the generic FX_FAILURE, which
stays INTERNAL (retryable) like any unexplained failure.
"""

from __future__ import annotations

import asyncio

import asyncssh

from haul.domain.errors import ErrorCode, TransferError
from haul.storage.error_translation import Rule, Translator, fixed, from_oserror

SFTP_STATUS: dict[int, ErrorCode] = {
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


def _status(exc: asyncssh.SFTPError, path: str) -> TransferError:
    code = SFTP_STATUS.get(exc.code, ErrorCode.INTERNAL)
    return TransferError(code, f"{f'{path}: ' if path else ''}{exc.reason or type(exc).__name__}")


SFTP_ERRORS = Translator(
    [
        Rule(asyncssh.SFTPError, _status),
        Rule(
            asyncssh.PermissionDenied,
            fixed(ErrorCode.NO_CREDENTIAL, "{where}SSH authentication failed: {exc}"),
        ),
        Rule(
            asyncssh.HostKeyNotVerifiable,
            fixed(
                ErrorCode.PERMISSION_DENIED,
                "{where}SSH host key not accepted: {exc}",
                retryable=False,
            ),
        ),
        Rule((TimeoutError, asyncio.TimeoutError), fixed(ErrorCode.TIMEOUT, "{where}timed out")),
        Rule(
            (asyncssh.Error, asyncssh.ChannelOpenError, EOFError),
            fixed(ErrorCode.CONNECTION, "{where}{kind}: {exc}"),
        ),
        Rule(OSError, from_oserror),
    ]
)
