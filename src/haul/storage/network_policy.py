"""Which addresses a worker may connect to for a site.

A user who registers a site chooses where the worker connects. Pointed at
loopback, a link-local metadata service (169.254.169.254) or a private
network, that would let any user reach what only the worker's host can reach
(SSRF). So for sites registered by non-admins the worker refuses every
address that is not globally routable unicast, unless the operator allowed its
network with ``--allow-network CIDR`` (or ``HAUL_ALLOW_NETWORK``). Sites
registered by admins are trusted and not checked.

The check is made on the addresses actually connected to: a backend resolves
the name here, gets back only IP literals that passed, and connects to those,
so a DNS answer that changes between a check and the connection (rebinding)
cannot slip a loopback address in.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from haul.domain.errors import ErrorCode, TransferError

FLAG = "--allow-network"
ENV_VAR = "HAUL_ALLOW_NETWORK"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs from the command line or the environment (comma-separated allowed).

    Raises ValueError naming the bad value, for the CLI to show.
    """
    out: list[Network] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                out.append(ipaddress.ip_network(part, strict=False))
            except ValueError as exc:
                raise ValueError(f"{FLAG} {part!r}: not an address or CIDR network") from exc
    return tuple(out)


def refusal_reason(address: Address) -> str | None:
    """Why this address is not for untrusted sites, or None if it is public unicast."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local (cloud metadata)"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "non-public"
    return None


@dataclass(frozen=True)
class NetworkPolicy:
    """The worker's allowed networks, and whether this site is trusted (admin-registered)."""

    allowed: tuple[Network, ...] = ()
    trusted: bool = False

    def _allows(self, address: Address) -> bool:
        candidates: list[Address] = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        return any(a in net for a in candidates for net in self.allowed if a.version == net.version)

    def check(self, host: str, address: str) -> None:
        """Raises PERMISSION_DENIED (never retried) unless `address` may be connected to."""
        if self.trusted:
            return
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        reason = refusal_reason(ip)
        if reason is None or self._allows(ip):
            return
        named = f"{host} ({ip})" if host != str(ip) else str(ip)
        width = 32 if ip.version == 4 else 128
        raise TransferError(
            ErrorCode.PERMISSION_DENIED,
            f"{named}: {reason} address refused for a site registered by a non-admin; "
            f"the worker's operator may allow it with {FLAG} {ip}/{width} (or {ENV_VAR})",
            retryable=False,
        )

    def addresses(self, host: str, port: int) -> list[str]:
        """The IP literals to connect to for `host`, each one checked.

        A trusted site gets `host` back unchanged, for the library to resolve
        as it always did. Otherwise the name is resolved here and only the
        addresses that pass are returned; if none pass, the first refusal is
        raised.
        """
        if self.trusted:
            return [host]
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise TransferError(ErrorCode.CONNECTION, f"{host}: cannot resolve: {exc}") from exc
        good: list[str] = []
        refused: TransferError | None = None
        for _family, _type, _proto, _name, sockaddr in infos:
            address = str(sockaddr[0])
            try:
                self.check(host, address)
            except TransferError as exc:
                refused = refused or exc
                continue
            if address not in good:
                good.append(address)
        if not good:
            assert refused is not None
            raise refused
        return good

    def connect(self, host: str, port: int, timeout: float | None) -> socket.socket:
        """A TCP socket connected to a checked address of `host`."""
        last: OSError | None = None
        for address in self.addresses(host, port):
            try:
                return socket.create_connection((address, port), timeout=timeout)
            except OSError as exc:
                last = exc
        assert last is not None
        raise last


OPEN = NetworkPolicy(trusted=True)


def url_host(address: str) -> str:
    """An address as it goes into a URL's authority (IPv6 literals in brackets)."""
    return f"[{address}]" if ":" in address else address
