"""S3's failures as `TransferError`: botocore's exceptions and S3's error codes, one table.

S3 names its errors by string (`NoSuchKey`, `SlowDown`, ...) in a
`ClientError`; those not in the table fall back to the answer's HTTP status.
A refusal of the network policy reaches here wrapped by botocore and is
handed on unchanged.
"""

from __future__ import annotations

import botocore.exceptions as bexc

from haul.domain.errors import ErrorCode, TransferError
from haul.storage.error_translation import Rule, Translator, fixed, from_http_status

S3_CODES: dict[str, ErrorCode] = {
    **dict.fromkeys(
        ("NoSuchKey", "NoSuchBucket", "NotFound", "404", "NoSuchUpload"), ErrorCode.NOT_FOUND
    ),
    **dict.fromkeys(
        (
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "ExpiredToken",
            "InvalidToken",
            "AuthorizationHeaderMalformed",
        ),
        ErrorCode.NO_CREDENTIAL,
    ),
    **dict.fromkeys(("AccessDenied", "AllAccessDisabled", "403"), ErrorCode.PERMISSION_DENIED),
    **dict.fromkeys(("BucketAlreadyExists", "BucketAlreadyOwnedByYou"), ErrorCode.EXISTS),
    **dict.fromkeys(
        ("SlowDown", "ServiceUnavailable", "InternalError", "503", "500"), ErrorCode.CONNECTION
    ),
    "RequestTimeout": ErrorCode.TIMEOUT,
}


def _policy_refusal(exc: bexc.HTTPClientError, _path: str) -> TransferError | None:
    inner = exc.kwargs.get("error")
    return inner if isinstance(inner, TransferError) else None


def _client_error(exc: bexc.ClientError, path: str) -> TransferError:
    error = exc.response.get("Error", {})
    name = str(error.get("Code", ""))
    message = f"{path}: {name} {error.get('Message', '')}".strip()
    code = S3_CODES.get(name)
    if code is not None:
        return TransferError(code, message)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if status:
        return from_http_status(status, message)
    return TransferError(ErrorCode.INTERNAL, message)


S3_ERRORS = Translator(
    [
        Rule(bexc.HTTPClientError, _policy_refusal),
        Rule(bexc.ClientError, _client_error),
        Rule(
            (bexc.NoCredentialsError, bexc.PartialCredentialsError),
            fixed(ErrorCode.NO_CREDENTIAL, "{path}: {exc}"),
        ),
        Rule(
            (bexc.ReadTimeoutError, bexc.ConnectTimeoutError),
            fixed(ErrorCode.TIMEOUT, "{path}: {exc}"),
        ),
        Rule(
            (bexc.EndpointConnectionError, bexc.ConnectionError, ConnectionError),
            fixed(ErrorCode.CONNECTION, "{path}: {exc}"),
        ),
        Rule((bexc.BotoCoreError, OSError), fixed(ErrorCode.CONNECTION, "{path}: {kind}: {exc}")),
    ],
    fallback=fixed(ErrorCode.INTERNAL, "{path}: {kind}: {exc}"),
)
