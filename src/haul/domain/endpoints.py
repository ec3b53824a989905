"""Rules for site endpoint URLs: the scheme names the protocol."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import urlsplit

from haul.domain.enums import SCHEME_PROTOCOLS, JobProtocol


class EndpointError(ValueError):
    """An endpoint URL haul cannot use (the API answers 400)."""


@dataclass(frozen=True)
class Endpoint:
    url: str
    scheme: str
    prefix: str

    @property
    def protocol(self) -> JobProtocol:
        return SCHEME_PROTOCOLS[self.scheme]


def parse_endpoint(url: object) -> Endpoint:
    if not isinstance(url, str) or not url.strip():
        raise EndpointError("endpoint: must be a non-empty URL string")
    url = url.strip()
    if any(ord(c) < 0x20 for c in url):
        raise EndpointError("endpoint: contains control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if parts.username or parts.password:
        raise EndpointError(
            f"endpoint for {scheme}://{parts.hostname}: put user names and secrets in a "
            "site credential, not in the URL"
        )
    if scheme not in SCHEME_PROTOCOLS:
        known = ", ".join(f"{s}://" for s in SCHEME_PROTOCOLS)
        raise EndpointError(f"endpoint {url!r}: unknown scheme {scheme!r}; use one of {known}")
    if scheme != "file" and not parts.netloc:
        raise EndpointError(f"endpoint {url!r}: needs a host")
    if scheme == "file" and parts.netloc not in ("", "localhost"):
        raise EndpointError(f"endpoint {url!r}: file:// URLs must name a local path")
    if ".." in parts.path.split("/"):
        raise EndpointError(f"endpoint {url!r}: '..' segments are not allowed")
    prefix = parts.path.rstrip("/") or "/"
    return Endpoint(url=url, scheme=scheme, prefix=prefix)


def under_root(path: str, roots: list[str]) -> bool:
    """True when a local path lies inside one of the allowed roots."""
    p = posixpath.normpath(path)
    for root in roots:
        r = posixpath.normpath(root)
        if p == r or p.startswith(r.rstrip("/") + "/"):
            return True
    return False
