"""S3 downloads by presigned URL, their bodies read by `http_get.PlainGets`.

Why: botocore's request pipeline (some twenty events, signing, the answer's
parsing) cost ~1.3 ms of CPU per GET of a 64 KiB object on the benchmark's
machine, more than moving the bytes; presigning the same GET (the same
SigV4 signature, in the query) and reading it with `http.client` cost
~0.6 ms (bench/RESULTS.md, "S3 downloads"). Of that, `generate_presigned_url`
itself (serialising the call through the same pipeline) was ~0.35 ms: so
only a bucket's first URL is made that way, which shows where botocore puts
a key (the endpoint, the addressing style); later keys take that place, and
botocore's own query signer (`S3SigV4QueryAuth`, what it presigns with)
signs them. Only the download moves: an
answer other than a plain `200` (a missing key, a redirect to the bucket's
region, throttling), or a connection that fails before an answer, is asked
again through botocore, which retries, follows and maps errors as for every
other request.

The URL goes only to the endpoint botocore would have sent the request to,
over connections the site's network policy allows, verified as botocore
verifies (its CA bundle).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.httpsession import get_cert_path
from botocore.utils import percent_encode

from haul.domain.errors import TransferError
from haul.storage.http_get import Body, PlainGets
from haul.storage.network_policy import NetworkPolicy

# A presigned GET is used at once; this only bounds a URL that leaked into a log.
EXPIRES_SECONDS = 300


# How botocore puts a key in a URL path (the serializer's `{Key+}`).
_KEY_SAFE = "/~"


@dataclass(frozen=True)
class QuerySigner:
    """SigV4 in the query, as `generate_presigned_url` signs a GET (s3v4)."""

    credentials: Credentials
    region: str

    def sign(self, url: str) -> str:
        request = AWSRequest(method="GET", url=url)
        S3SigV4QueryAuth(self.credentials, "s3", self.region, expires=EXPIRES_SECONDS).add_auth(
            request
        )
        return str(request.url)


class PresignedGets:
    """Plain GETs of one S3 client's objects, kept-alive per endpoint host.

    `signer` None: the client is unsigned, and so are the URLs.
    """

    def __init__(
        self, client: Any, policy: NetworkPolicy, timeout: float, signer: QuerySigner | None
    ) -> None:
        self._client = client
        self._policy = policy
        self._timeout = timeout
        self._signer = signer
        self._context: ssl.SSLContext | None = None
        self._hosts: dict[tuple[str, str, int | None], PlainGets] = {}
        # Per bucket: the URL up to its keys, or None where the first URL did
        # not end in the key as expected (that bucket's URLs stay botocore's).
        self._bases: dict[str, str | None] = {}

    def _url(self, bucket: str, key: str) -> str:
        base = self._bases.get(bucket, "")
        if base:
            url = base + percent_encode(key, safe=_KEY_SAFE)
            return self._signer.sign(url) if self._signer is not None else url
        url = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=EXPIRES_SECONDS
        )
        if base == "":  # the bucket's first: learn where its keys go
            plain, encoded = url.split("?", 1)[0], percent_encode(key, safe=_KEY_SAFE)
            self._bases[bucket] = plain[: -len(encoded)] if plain.endswith(encoded) else None
        return str(url)

    def _gets(self, scheme: str, host: str, port: int | None) -> PlainGets:
        found = self._hosts.get((scheme, host, port))
        if found is None:
            if self._context is None:
                self._context = ssl.create_default_context(cafile=get_cert_path(True))
            found = self._hosts[(scheme, host, port)] = PlainGets(
                scheme,
                host,
                port,
                headers={},
                context=self._context,
                policy=self._policy,
                timeout=self._timeout,
            )
        return found

    def open(self, bucket: str, key: str, path: str) -> Body | None:
        """The object's body, or None: ask botocore instead."""
        url = self._url(bucket, key)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            return self._gets(parts.scheme, parts.hostname, parts.port).open(target, path)
        except TransferError:
            return None  # botocore asks again, with its own retries

    def close(self) -> None:
        for gets in self._hosts.values():
            gets.close()
        self._hosts.clear()
