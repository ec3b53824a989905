"""Rules for site endpoint URLs: the scheme names the protocol."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import urlsplit

from haul.domain.enums import SCHEME_PROTOCOLS, JobProtocol

# Schemes haul uses for its own built-in sites; users cannot register them.
INTERNAL_SCHEMES = frozenset({"upload"})

MAX_URL_LENGTH = 2048  # the endpoint column's size


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
    if len(url) > MAX_URL_LENGTH:
        raise EndpointError(f"endpoint: longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket; the URL may hold a secret
        raise EndpointError(f"endpoint: not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if parts.username or parts.password:
        raise EndpointError(
            f"endpoint for {scheme}://{parts.hostname}: put user names and secrets in a "
            "site credential, not in the URL"
        )
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in 0-65535
    except ValueError as exc:
        raise EndpointError(f"endpoint {url!r}: {exc}") from None
    if scheme not in SCHEME_PROTOCOLS or scheme in INTERNAL_SCHEMES:
        known = ", ".join(f"{s}://" for s in SCHEME_PROTOCOLS if s not in INTERNAL_SCHEMES)
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
