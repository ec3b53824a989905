"""HTTP third-party copy (WLCG HTTP-TPC) and RFC 3230 digests, for the WebDAV backend.

Pull mode: the worker sends `COPY <destination URL>` with a `Source:` header;
the destination server GETs the source itself and answers, in a chunked
body, "Perf Marker" blocks (`Stripe Bytes Transferred: N`) while it copies,
then one line `success: ...` or `failure: ...` / `failed: ...` /
`aborted: ...`. Credentials for the source would travel as
`TransferHeaderAuthorization`; haul sends none (a site's credential does not
go to another site's server), so only sources that need none are pulled.

Digests: `HEAD` with `Want-Digest: adler32` is answered by servers that know
the file's checksum (XRootD's HTTP plugin among them) with
`Digest: adler32=<hex>`; md5 and sha-256 come base64-encoded (RFC 3230).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

import httpx

from haul.domain.errors import ErrorCode, TransferError
from haul.storage.error_translation import from_http_status


class Refused(TransferError):
    """The server answered the COPY itself with an error: it may not do HTTP-TPC at
    all (a plain WebDAV server reads COPY as RFC 4918's, of a resource not there)."""


_RFC3230_NAMES = {"adler32": "adler32", "md5": "md5", "sha256": "sha-256"}


def pull(
    http: httpx.Client,
    target: str,
    source: str,
    path: str,
    *,
    progress: Callable[[int, int], None] | None,
    cancelled: Callable[[], bool],
) -> None:
    """Asks the server at `target` to fetch `source`; raises TransferError if it fails.

    An error status on the COPY itself raises `Refused`.
    """
    headers = {"Source": source, "Overwrite": "T"}
    with http.stream("COPY", target, headers=headers) as response:
        if response.status_code >= 300:
            why = from_http_status(response.status_code, f"{path}: COPY: {response.reason_phrase}")
            raise Refused(why.code, why.message)
        for line in response.iter_lines():
            if cancelled():
                raise TransferError(ErrorCode.CANCELLED, "copy cancelled")
            text = line.strip()
            key, _, value = text.partition(":")
            if key == "Stripe Bytes Transferred" and progress is not None:
                progress(int(value.strip() or 0), 0)
            elif key == "success":
                return
            elif key in ("failure", "failed", "aborted"):
                raise TransferError(ErrorCode.CONNECTION, f"{path}: the server's copy {text}")
    raise TransferError(ErrorCode.CONNECTION, f"{path}: the server's copy ended without a result")


def digest(http: httpx.Client, url: str, algorithm: str) -> tuple[bool, str | None]:
    """Whether the server answered, and its checksum of `url` for `algorithm` (hex) if any."""
    name = _RFC3230_NAMES.get(algorithm.lower())
    if name is None:
        return False, None
    response = http.head(url, headers={"Want-Digest": name})
    if response.status_code >= 400:
        return False, None
    return True, _parse(response.headers.get("Digest", ""), name)


def _parse(header: str, name: str) -> str | None:
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key.lower() != name or not value:
            continue
        if name == "adler32":
            return value.lower().rjust(8, "0")
        size = 16 if name == "md5" else 32
        if len(value) == 2 * size and all(c in "0123456789abcdefABCDEF" for c in value):
            return value.lower()  # some servers send hex
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
        return raw.hex() if len(raw) == size else None
    return None
