"""The scheme table, and `open_storage`: from an endpoint URL and a credential to a backend.

One row per URL scheme a worker can open (as fsspec's `registry.py`): the
backend class, named by its import path and imported only when its scheme
is first asked for, so a worker that serves only `file://` needs none of
asyncssh, boto3, webdav4 or the XRootD bindings; and, where the backend
speaks another scheme on the wire (WebDAV over http or https), that one.
Which backends can have their server pull a file from another (third-party
copy) is a fact of the class (`third_party.Pulling`), read off it by
`Backend.pulls`, not written a second time here.

Scheme facts of the domain (the protocol a scheme speaks, which want a
credential) are in `haul.domain.enums`; this table is the storage side's.
"""

from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from haul.domain.errors import ErrorCode, TransferError
from haul.storage._base import BaseStorage, Storage
from haul.storage.site_access import DIRECT, SiteAccess


@dataclass(frozen=True)
class Backend:
    """A scheme's backend: `target` is "module:Class"; `wire` the scheme it sends, if another."""

    target: str
    wire: str | None = None

    def load(self) -> type[BaseStorage]:
        return _load(self.target)

    @property
    def pulls(self) -> bool:
        """Whether its server can fetch a file from another server of its kind."""
        from haul.storage.third_party import pulls  # the protocol lives with its engine

        return pulls(self.load())


_WEBDAV = "haul.storage.webdav:WebDAVStorage"
_XROOTD = "haul.storage.xrootd:XRootDStorage"

BACKENDS: dict[str, Backend] = {
    "file": Backend("haul.storage.local:LocalStorage"),
    "dummy": Backend("haul.storage.dummy:DummyStorage"),
    "sftp": Backend("haul.storage.sftp:SFTPStorage"),
    "https": Backend(_WEBDAV, wire="https"),
    "http": Backend(_WEBDAV, wire="http"),
    "davs": Backend(_WEBDAV, wire="https"),
    "dav": Backend(_WEBDAV, wire="http"),
    "root": Backend(_XROOTD),
    "xroot": Backend(_XROOTD),
    "s3": Backend("haul.storage.s3:S3Storage"),
}
SCHEMES = tuple(BACKENDS)


@cache
def _load(target: str) -> type[BaseStorage]:
    module, _, name = target.partition(":")
    kind: type[BaseStorage] = getattr(importlib.import_module(module), name)
    return kind


def preload(schemes: tuple[str, ...]) -> None:
    """Imports these schemes' backends now, where their libraries are installed.

    Why: importing asyncssh took a worker's first SFTP element ~0.1 s of CPU
    (more on a loaded machine: 14% of a profiled first job's samples), paid
    while a copy waited; the worker calls this in a thread of its own at start.
    A library that is missing is left to fail as it would have, when asked for.
    """
    for scheme in schemes:
        with contextlib.suppress(ImportError):
            BACKENDS[scheme].load()


def backend_for(endpoint_url: str) -> Backend:
    """The row of `endpoint_url`'s scheme; UNSUPPORTED names a scheme with none."""
    scheme = urlsplit(endpoint_url).scheme.lower()
    backend = BACKENDS.get(scheme)
    if backend is None:
        raise TransferError(
            ErrorCode.UNSUPPORTED, f"no storage backend for scheme {scheme!r} ({endpoint_url})"
        )
    return backend


def open_storage(
    endpoint_url: str, credential: dict[str, Any] | None = None, access: SiteAccess = DIRECT
) -> Storage:
    """A connected storage for `endpoint_url`; paths passed to it are absolute.

    The URL's path is the endpoint's prefix; it is informational here (the
    server resolves job paths under it), except for `dummy://` where it roots
    the generated tree. Workers always pass `access`; without it nothing is
    checked.
    """
    kind = backend_for(endpoint_url).load()
    return kind.from_url(endpoint_url, dict(credential or {}), access)
