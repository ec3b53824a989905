"""Opening a lease's sites: the per-thread storage cache, the site's network
policy and SSH host key pinning (trust on first use)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from typing import Any

from haul.domain.errors import ErrorCode, TransferError
from haul.protocol.leases import LeasedElement, SiteInfo
from haul.storage import SiteAccess, Storage, open_storage
from haul.storage.network_policy import Network, NetworkPolicy
from haul.worker.identity_memo import IdentityMemo


def site_label(site: SiteInfo) -> str:
    return f"site {site.get('site_name')} (id {site.get('site_id')})"


def site_access(site: SiteInfo, allow_networks: tuple[Network, ...]) -> SiteAccess:
    """What the lease says about a site: trusted (admin-registered) or not, its pinned key."""
    return SiteAccess(
        network=NetworkPolicy(allow_networks, trusted=bool(site.get("trusted"))),
        host_key=site.get("host_key"),
        site=site_label(site),
        site_id=site.get("site_id"),
    )


class HostKeyPins:
    """Reports the SSH host key a site presented when the site has none pinned.

    `report(element, site_id, key)` sends it with the element's lease token
    and answers the key the server now holds (None if it could not be
    told); the worker loop sets it. Each (site, key) is reported once per
    claim (all elements of a claim share its lease payload); later claims
    carry the pin themselves, or, after the owner reset it, none again.
    """

    def __init__(self) -> None:
        self.report: Callable[[LeasedElement, int, str], str | None] | None = None
        self._done: set[tuple[int, str, str]] = set()
        self._lock = threading.Lock()

    def check(
        self,
        element: LeasedElement,
        site: SiteInfo,
        storage: Storage,
        say: Callable[[str], None],
    ) -> None:
        offered = getattr(storage, "host_key", None)
        credential = site.get("credential") or {}
        site_id = site.get("site_id")
        if not offered or site.get("host_key") or credential.get("host_key") or site_id is None:
            return
        claim = str(element.get("token", "")).rsplit(".", 1)[0]
        key = (site_id, offered, claim)
        with self._lock:
            if key in self._done or self.report is None:
                return
            self._done.add(key)
        pinned = self.report(element, site_id, offered)
        if pinned is None:
            return  # not recorded this time: the next claim tries again
        if pinned.split()[:2] != offered.split()[:2]:
            # Another connection pinned a different key first: this one is suspect.
            raise TransferError(
                ErrorCode.PERMISSION_DENIED,
                f"{site_label(site)}: SSH host key {offered} differs from the key pinned on "
                f"the site ({pinned}); if the server's key really changed, the site's owner "
                f"resets the pin (DELETE /site/api/v1.0/site/{site_id}/host_key)",
                retryable=False,
            )
        say(f"pinned SSH host key {offered} on {site_label(site)}")


SITES_KEPT = 256  # site dicts remembered (a few per claim in flight)


def _credential_key(credential: dict[str, Any] | None) -> str:
    return json.dumps(credential, sort_keys=True) if credential else ""


class StorageCache:
    """Open storages kept per thread, so a worker reuses its SSH/HTTP connections.

    Per thread because protocol clients (SFTP sessions, HTTP sessions) are
    not all safe to share; an element that fails with a connection error drops
    its thread's storages so the next element reconnects.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._all: list[Storage] = []
        self._lock = threading.Lock()
        # Per lease payload (every element of a claim shares its site dicts):
        # the site's access and credential key, worked out once, not per file.
        self._sites: IdentityMemo[tuple[SiteAccess, str]] = IdentityMemo(SITES_KEPT)

    def _map(self) -> dict[tuple[str, str, SiteAccess], Storage]:
        m = getattr(self._local, "m", None)
        if m is None:
            m = self._local.m = {}
        return m

    def get(self, url: str, credential: dict[str, Any] | None, access: SiteAccess) -> Storage:
        # The access is part of the key: a trusted and an untrusted site on the
        # same URL must not share a connection, nor a pinned and an unpinned one.
        return self._get(url, credential, access, _credential_key(credential))

    def _by_site(self) -> IdentityMemo[Storage]:
        m = getattr(self._local, "by_site", None)
        if m is None:
            m = self._local.by_site = IdentityMemo(SITES_KEPT)
        return m

    def for_site(
        self, url: str, site: SiteInfo, allow_networks: tuple[Network, ...]
    ) -> Storage:
        """`get` for a lease's site dict, its access and key computed once per dict,
        and this thread's storage for it remembered by the dict itself: every file
        of a claim comes with the same dict, and hashing the access (a frozen
        dataclass, hashed afresh each time) and the key per file was a few
        percent of a small file's CPU."""
        by_site = self._by_site()
        storage = by_site.get(site, url)
        if storage is None:
            storage = by_site.put(site, url, self._for_site(url, site, allow_networks))
        return storage

    def _for_site(
        self, url: str, site: SiteInfo, allow_networks: tuple[Network, ...]
    ) -> Storage:
        entry = self._sites.get(site)
        if entry is None:
            access = site_access(site, allow_networks)
            entry = self._sites.put(site, None, (access, _credential_key(site.get("credential"))))
        return self._get(url, site.get("credential"), *entry)

    def _get(
        self, url: str, credential: dict[str, Any] | None, access: SiteAccess, cred_key: str
    ) -> Storage:
        key = (url, cred_key, access)
        m = self._map()
        storage = m.get(key)
        if storage is None:
            storage = open_storage(url, credential, access)
            m[key] = storage
            with self._lock:
                self._all.append(storage)
        return storage

    def drop_thread(self) -> None:
        self._by_site().clear()
        for storage in self._map().values():
            with contextlib.suppress(Exception):
                storage.close()
        self._map().clear()

    def close(self) -> None:
        with self._lock:
            storages, self._all = self._all, []
        for storage in storages:
            with contextlib.suppress(Exception):
                storage.close()
