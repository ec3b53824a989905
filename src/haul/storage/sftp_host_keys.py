"""SSH host keys: which key to ask a server for, the check against the pin
(before any authentication, so a server that is not the pinned one never
sees the credential), and the error that says how to reset a changed pin.
"""

from __future__ import annotations

import asyncssh

from haul.domain.errors import ErrorCode, TransferError
from haul.storage.site_access import SiteAccess

# paramiko's order (the pins recorded before asyncssh came from it): the
# algorithm decides which of a server's host keys is offered.
_HOST_KEY_ALGS = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
    "ssh-rsa",
)
_RSA_ALGS = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")


def _key_line(key: asyncssh.SSHKey) -> str:
    return " ".join(key.export_public_key("openssh").decode().split()[:2])


def host_key_algs(expected: str | None) -> list[str]:
    """Ask for the pinned key's own algorithm, so a server with several host
    keys offers the one that was pinned."""
    if not expected:
        return list(_HOST_KEY_ALGS)
    kind = expected.split()[0]
    return list(_RSA_ALGS) if kind == "ssh-rsa" else [kind]


class HostKeyCheck(asyncssh.SSHClient):
    """Checks the server's key against the pin before any authentication."""

    def __init__(self, expected: str | None) -> None:
        self.expected = expected.split()[:2] if expected else None
        self.offered: str | None = None

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self.offered = _key_line(key)
        return self.expected is None or self.offered.split() == self.expected


def key_mismatch(access: SiteAccess, target: str, offered: str, explicit: bool) -> TransferError:
    site = access.site or target
    if explicit:
        hint = "the host_key in the credential for this site does not match"
    else:
        reset = (
            f"DELETE /site/api/v1.0/site/{access.site_id}/host_key"
            if access.site_id is not None
            else "DELETE /site/api/v1.0/site/<id>/host_key"
        )
        hint = (
            "it differs from the key pinned on the site at its first connection; if the "
            f"server's key really changed, the site's owner resets the pin ({reset}) or "
            "sets the new key (PUT on the same URL)"
        )
    return TransferError(
        ErrorCode.PERMISSION_DENIED,
        f"{site}: SSH host key of {target} is {offered}: {hint}",
        retryable=False,
    )
