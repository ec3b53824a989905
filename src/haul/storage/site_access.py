"""`SiteAccess`: what a worker knows about a site beyond its URL and credential.

Its own module because every remote backend takes one and `open_storage`
hands it on: kept apart from the scheme table, nothing imports in a circle.
"""

from __future__ import annotations

from dataclasses import dataclass

from haul.storage.network_policy import OPEN, NetworkPolicy


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
