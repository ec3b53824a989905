"""WebDAV's failures as `TransferError`: webdav4's and httpx's exceptions, one table.

webdav4 names the common answers (not found, exists, conflict, a collection
where a file was meant); the rest are HTTP statuses, classified by the
shared HTTP table, or transport failures of httpx.
"""

from __future__ import annotations

import httpx
import webdav4.client as wd

from haul.domain.errors import ErrorCode, TransferError
from haul.storage.error_translation import Rule, Translator, fixed, from_http_status


def _status(exc: wd.HTTPError, path: str) -> TransferError:
    return from_http_status(exc.status_code, f"{path}: {exc}")


def _response_status(exc: httpx.HTTPStatusError, path: str) -> TransferError:
    return from_http_status(exc.response.status_code, f"{path}: {exc}")


WEBDAV_ERRORS = Translator(
    [
        Rule(wd.ResourceNotFound, fixed(ErrorCode.NOT_FOUND, "{path}: not found")),
        Rule(wd.ResourceAlreadyExists, fixed(ErrorCode.EXISTS, "{path}: exists")),
        Rule(
            wd.ResourceConflict,
            fixed(ErrorCode.NOT_FOUND, "{path}: conflict (missing parent?): {exc}"),
        ),
        Rule(wd.IsACollectionError, fixed(ErrorCode.IS_A_DIRECTORY, "{path}: is a collection")),
        Rule(wd.IsAResourceError, fixed(ErrorCode.NOT_A_DIRECTORY, "{path}: is not a collection")),
        Rule(wd.ResourceLocked, fixed(ErrorCode.CONNECTION, "{path}: locked")),
        Rule(wd.HTTPError, _status),
        Rule(httpx.HTTPStatusError, _response_status),
        Rule(httpx.TimeoutException, fixed(ErrorCode.TIMEOUT, "{path}: {kind}: {exc}")),
        Rule(
            (httpx.TransportError, ConnectionError),
            fixed(ErrorCode.CONNECTION, "{path}: {kind}: {exc}"),
        ),
    ],
    fallback=fixed(ErrorCode.INTERNAL, "{path}: {kind}: {exc}"),
)


def check(response: httpx.Response, path: str) -> None:
    """Raises for an error answer (status 400 and above)."""
    if response.status_code >= 400:
        raise from_http_status(response.status_code, f"{path}: {response.reason_phrase}")
