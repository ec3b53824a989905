"""`open_storage`: from an endpoint URL and a credential to a backend.

Backends import their protocol library lazily, so a worker that serves only
`file://` needs none of asyncssh, boto3, webdav4 or the XRootD bindings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from haul.domain.errors import ErrorCode, TransferError
from haul.storage._base import Storage
from haul.storage.network_policy import OPEN, NetworkPolicy

SCHEMES = ("file", "dummy", "sftp", "https", "http", "davs", "dav", "root", "xroot", "s3")


@dataclass(frozen=True)
class SiteAccess:
    """What a worker knows about a site beyond its URL and credential.

    `network` says which addresses it may connect to; `host_key` is the SSH
    host key pinned on the site (an explicit `host_key` in the credential
    wins); `site` names the site in error messages and `site_id` is used in
    the hint for resetting a pin. Frozen, so it can be part of a cache key.
    """

    network: NetworkPolicy = OPEN
    host_key: str | None = None
    site: str = ""
    site_id: int | None = None


DIRECT = SiteAccess()  # no checks: tests and tools that open a storage themselves


def open_storage(
    endpoint_url: str, credential: dict[str, Any] | None = None, access: SiteAccess = DIRECT
) -> Storage:
    """A connected storage for `endpoint_url`; paths passed to it are absolute.

    The URL's path is the endpoint's prefix; it is informational here (the
    server resolves job paths under it), except for `dummy://` where it roots
    the generated tree. Workers always pass `access`; without it nothing is
    checked.
    """
    scheme = urlsplit(endpoint_url).scheme.lower()
    cred = dict(credential or {})
    if scheme == "file":
        from haul.storage.local import LocalStorage

        return LocalStorage()
    if scheme == "dummy":
        from haul.storage.dummy import DummyStorage

        return DummyStorage(endpoint_url)
    if scheme == "sftp":
        from haul.storage.sftp import SFTPStorage

        return SFTPStorage(endpoint_url, cred, access)
    if scheme in ("https", "http", "davs", "dav"):
        from haul.storage.webdav import WebDAVStorage

        return WebDAVStorage(endpoint_url, cred, access)
    if scheme in ("root", "xroot"):
        from haul.storage.xrootd import XRootDStorage

        return XRootDStorage(endpoint_url, cred, access)
    if scheme == "s3":
        from haul.storage.s3 import S3Storage

        return S3Storage(endpoint_url, cred, access)
    raise TransferError(
        ErrorCode.UNSUPPORTED, f"no storage backend for scheme {scheme!r} ({endpoint_url})"
    )
