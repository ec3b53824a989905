"""Where an element reads or writes: a site's endpoint chosen for the job's protocol.

A place also knows how the user named it: errors and logs show
``SITE:PATH`` as submitted, with the path on the storage after it
(``data:/data (resolved /srv/data/data)``), not only the absolute path the
endpoint and the site's default path made of it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from haul.domain.enums import SCHEME_PROTOCOLS, JobProtocol
from haul.domain.errors import ErrorCode, TransferError
from haul.protocol.leases import SiteInfo
from haul.storage import Storage

# An absolute path in a message: not inside a word, a URL or a path, nor a
# path already named (after "resolved ").
_PATH_TOKEN = re.compile(r"(?<![\w.~:/-])(?<!resolved )/[^\s:'\",;)]*")


@dataclass(frozen=True)
class Naming:
    """How the user named a path: `site`:`written`, which the worker resolved to
    `resolved` under the endpoint's path `base` ("" for an endpoint at /)."""

    site: str
    written: str
    resolved: str
    base: str = ""

    @property
    def shown(self) -> str:
        name = f"{self.site}:{self.written}"
        return name if self.written == self.resolved else f"{name} (resolved {self.resolved})"

    def show(self, path: str) -> str | None:
        """`path` (on the storage) as the user would name it, or None if outside the site."""
        if path.rstrip("/") == self.resolved.rstrip("/") and path:
            return self.shown
        if self.base:
            if path != self.base and not path.startswith(self.base + "/"):
                return None
            inner = path[len(self.base) :] or "/"
            return f"{self.site}:{inner} (resolved {path})"
        # An endpoint at /: any path could be another place's; name only the
        # directories above this one and the paths below it.
        top = self.resolved.rstrip("/")
        if top.startswith(path.rstrip("/") + "/") or path.startswith(top + "/"):
            return f"{self.site}:{path}"
        return None

    def related(self, path: str) -> int:
        """How many leading characters `path` shares with the resolved path."""
        n = 0
        for a, b in zip(path, self.resolved, strict=False):
            if a != b:
                break
            n += 1
        return n


def name_paths(message: str, namings: list[Naming]) -> str:
    """`message` with each absolute path in a site named as the user would name it."""
    if not namings or "/" not in message:
        return message

    def swap(match: re.Match[str]) -> str:
        path = match.group(0)
        for naming in sorted(namings, key=lambda n: -n.related(path)):
            shown = naming.show(path)
            if shown is not None:
                return shown
        return path

    return _PATH_TOKEN.sub(swap, message)


@dataclass
class Place:
    storage: Storage
    path: str
    url: str
    naming: Naming | None = None

    @property
    def shown(self) -> str:
        """The place as the user named it, for logs."""
        return self.naming.shown if self.naming is not None else self.path


def naming_of(site: SiteInfo, written: str, resolved: str, prefix: str) -> Naming:
    base = "/" + prefix.strip("/") if prefix.strip("/") else ""
    return Naming(str(site.get("site_name") or site.get("site_id")), written, resolved, base)


def pick_endpoint(site: SiteInfo, protocol: str | None) -> str:
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
