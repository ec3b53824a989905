"""S3 downloads by presigned URL, their bodies read by `http_get.PlainGets`.

Why: botocore's request pipeline (some twenty events, signing, the answer's
parsing) cost ~1.3 ms of CPU per GET of a 64 KiB object on the benchmark's
machine, more than moving the bytes; presigning the same GET (the same
SigV4 signature, in the query) and reading it with `http.client` cost
~0.6 ms (bench/RESULTS.md, "S3 downloads"). Of that, `generate_presigned_url`
itself (serialising the call through the same pipeline) was ~0.35 ms: so
only a bucket's first URL is made that way, which shows where botocore puts
a key (the endpoint, the addressing style); later keys take that place, and
`s3_presign.QuerySigner` signs them (the same SigV4 query botocore's
`S3SigV4QueryAuth` makes, at a tenth of its CPU). Only the download moves: an
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
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from botocore.httpsession import get_cert_path
from botocore.utils import percent_encode

from haul.domain.errors import TransferError
from haul.storage.http_get import Body, PlainGets
from haul.storage.network_policy import NetworkPolicy
from haul.storage.s3_presign import EXPIRES_SECONDS, QuerySigner

# How botocore puts a key in a URL path (the serializer's `{Key+}`).
_KEY_SAFE = "/~"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class _Where:
    """Where a bucket's keys go, learnt from its first botocore URL."""

    scheme: str
    host: str  # as `http.client` connects to it (no brackets)
    port: int | None
    prefix: str  # the request path up to the key
    host_header: str  # what `http.client` sends as Host, and so what is signed


def _split(url: str) -> tuple[_Where, str] | None:
    """Where a presigned URL goes (its prefix empty) and its request target, or None."""
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname  # lowercase, as botocore signs it
    header = f"[{host}]" if ":" in host else host
    if parts.port is not None and parts.port != _DEFAULT_PORTS[parts.scheme]:
        header = f"{header}:{parts.port}"
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return _Where(parts.scheme, host, parts.port, "", header), target


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
        # Per bucket: where its keys go, or None where the first URL did not
        # end in the key as expected (that bucket's URLs stay botocore's).
        self._where: dict[str, _Where | None] = {}

    def _target(self, bucket: str, key: str) -> tuple[_Where, str] | None:
        """Where to send the GET of `key` and its request target (path and query)."""
        encoded = percent_encode(key, safe=_KEY_SAFE)
        where = self._where.get(bucket)
        if where is not None:
            path = where.prefix + encoded
            if self._signer is None:
                return where, path
            return where, f"{path}?{self._signer.query(where.host_header, path)}"
        url = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=EXPIRES_SECONDS
        )
        found = _split(str(url))
        if found is not None and bucket not in self._where:  # its first: learn where keys go
            place, target = found
            path = target.split("?", 1)[0]
            self._where[bucket] = (
                replace(place, prefix=path[: -len(encoded)]) if path.endswith(encoded) else None
            )
        return found

    def _gets(self, where: _Where) -> PlainGets:
        found = self._hosts.get((where.scheme, where.host, where.port))
        if found is None:
            if self._context is None:
                self._context = ssl.create_default_context(cafile=get_cert_path(True))
            found = self._hosts[(where.scheme, where.host, where.port)] = PlainGets(
                where.scheme,
                where.host,
                where.port,
                headers={},
                context=self._context,
                policy=self._policy,
                timeout=self._timeout,
            )
        return found

    def open(self, bucket: str, key: str, path: str) -> Body | None:
        """The object's body, or None: ask botocore instead."""
        found = self._target(bucket, key)
        if found is None:
            return None
        where, target = found
        try:
            return self._gets(where).open(target, path)
        except TransferError:
            return None  # botocore asks again, with its own retries

    def close(self) -> None:
        for gets in self._hosts.values():
            gets.close()
        self._hosts.clear()
