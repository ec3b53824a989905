"""Where an element reads or writes: a site's endpoint chosen for the job's protocol."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from haul.domain.enums import SCHEME_PROTOCOLS, JobProtocol
from haul.domain.errors import ErrorCode, TransferError
from haul.storage import Storage


@dataclass
class Place:
    storage: Storage
    path: str
    url: str


def pick_endpoint(site: dict[str, Any], protocol: str | None) -> str:
    endpoints = site.get("endpoints") or []
    if not endpoints:
        raise TransferError(ErrorCode.INVALID, f"site {site.get('site_name')}: has no endpoints")
    if protocol:
        for url in endpoints:
            if SCHEME_PROTOCOLS.get(url_parts(url)[0]) == JobProtocol[protocol]:
                return url
    return endpoints[0]


@functools.lru_cache(maxsize=1024)
def url_parts(url: str) -> tuple[str, str]:
    """An endpoint's scheme and path prefix; the same few URLs come with every element."""
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.path or "/"
