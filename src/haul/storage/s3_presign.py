"""SigV4 query signatures for S3 GETs (presigned URLs), made without botocore's pipeline.

Why: botocore's `S3SigV4QueryAuth` took 0.2-0.6 ms of CPU per URL on the
benchmark's machine, about a third of the worker's CPU per 64 KiB download
(bench/RESULTS.md, "S3 small files (session 2026-12-03)"): a request object,
the URL split and its query parsed and re-encoded three times, and five
HMACs, four of which derive a signing key that only changes with the day.
Here the key is derived once a day and the canonical request is put together
from parts the caller already has (the Host header, the encoded path), so a
URL costs one SHA-256 and one HMAC.

The algorithm is AWS's (Signature Version 4, query parameters, an unsigned
payload, `host` the only signed header), and the result is byte for byte what
botocore makes for the same request at the same second
(tests/storage/test_s3_presign.py compares them); the keys are the lease's
credential, nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from urllib.parse import quote

# A presigned GET is used at once; this only bounds a URL that leaked into a log.
EXPIRES_SECONDS = 300

_ALGORITHM = "AWS4-HMAC-SHA256"
_SERVICE = "s3"
_UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_SAFE = "-_.~"  # RFC 3986 unreserved characters, as SigV4 (and botocore) encode query values


def _encoded(value: str) -> str:
    return quote(value, safe=_SAFE)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


class QuerySigner:
    """Signs GETs of one credential in one region; its signing key kept per day.

    Safe to share between threads: the only state is the (day, key) pair,
    replaced whole.
    """

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        session_token: str | None,
        region: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock  # Unix time; the tests' fixed second
        self._access_key = access_key
        self._secret = f"AWS4{secret_key}".encode()
        self._token = session_token
        self._region = region
        self._day_key: tuple[str, bytes] = ("", b"")

    def _signing_key(self, day: str) -> bytes:
        cached_day, key = self._day_key
        if cached_day != day:
            key = self._secret
            for part in (day, self._region, _SERVICE, "aws4_request"):
                key = _hmac(key, part)
            self._day_key = (day, key)
        return key

    def query(self, host: str, path: str) -> str:
        """The query string (no `?`) that signs `GET path` sent with `Host: host`.

        `path` is the request path as sent (S3 keys percent-encoded, not
        normalised); `host` the Host header (lowercase, the port only when not
        the scheme's default).
        """
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self._clock()))
        day = stamp[:8]
        scope = f"{day}/{self._region}/{_SERVICE}/aws4_request"
        params = [
            ("X-Amz-Algorithm", _ALGORITHM),
            ("X-Amz-Credential", _encoded(f"{self._access_key}/{scope}")),
            ("X-Amz-Date", stamp),
            ("X-Amz-Expires", str(EXPIRES_SECONDS)),
            ("X-Amz-SignedHeaders", "host"),
        ]
        if self._token is not None:
            params.append(("X-Amz-Security-Token", _encoded(self._token)))
        canonical_query = "&".join(f"{k}={v}" for k, v in sorted(params))
        canonical = f"GET\n{path}\n{canonical_query}\nhost:{host}\n\nhost\n{_UNSIGNED_PAYLOAD}"
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        to_sign = f"{_ALGORITHM}\n{stamp}\n{scope}\n{digest}"
        signature = hmac.new(
            self._signing_key(day), to_sign.encode("utf-8"), hashlib.sha256
        ).hexdigest()
        query = "&".join(f"{k}={v}" for k, v in params)
        return f"{query}&X-Amz-Signature={signature}"
