"""The worker's network policy on its own: which addresses untrusted sites may reach."""

from __future__ import annotations

from pathlib import Path

import pytest

from haul.domain.errors import ErrorCode, TransferError
from haul.domain.host_keys import HostKeyError, normalize_host_key
from haul.storage.network_policy import NetworkPolicy, parse_networks
from haul.storage.s3 import sealed_session

REFUSED = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "::1": "loopback",
    "::ffff:127.0.0.1": "loopback",
    "169.254.169.254": "link-local",
    "fe80::1": "link-local",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "100.64.0.1": "non-public",
}


@pytest.mark.parametrize(("address", "reason"), sorted(REFUSED.items()))
def test_non_public_addresses_are_refused_for_untrusted_sites(address: str, reason: str) -> None:
    with pytest.raises(TransferError) as refused:
        NetworkPolicy().check("example.org", address)
    assert refused.value.code is ErrorCode.PERMISSION_DENIED
    assert refused.value.retryable is False
    assert reason in refused.value.message
    assert "--allow-network" in refused.value.message
    NetworkPolicy(trusted=True).check("example.org", address)  # admin sites: no check


def test_public_addresses_pass_and_allowed_networks_open_the_rest() -> None:
    NetworkPolicy().check("example.org", "93.184.216.34")
    NetworkPolicy().check("example.org", "2606:2800:220:1:248:1893:25c8:1946")
    allowed = NetworkPolicy(parse_networks(["127.0.0.0/8", "10.0.0.0/8,fc00::/7"]))
    for address in ("127.0.0.1", "::ffff:127.0.0.1", "10.9.9.9", "fd00::5"):
        allowed.check("h", address)
    with pytest.raises(TransferError):
        allowed.check("h", "192.168.0.1")


def test_bad_networks_are_named() -> None:
    with pytest.raises(ValueError, match="--allow-network 'nonsense'"):
        parse_networks(["10.0.0.0/8,nonsense"])


def test_host_keys_are_normalised_and_checked() -> None:
    blob = "AAAAC3NzaC1lZDI1NTE5AAAAIHa0ZYw9Jt9rM2sGVL1kRDmv7lMUCJbAVGZ2e1O7R3Ah"
    assert normalize_host_key(f"ssh-ed25519 {blob} root@host") == f"ssh-ed25519 {blob}"
    for bad in ("ssh-ed25519", f"ssh-rsa {blob}", "ssh-ed25519 ***", ""):
        with pytest.raises(HostKeyError):
            normalize_host_key(bad)


def test_the_sealed_botocore_session_finds_no_identity_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text(
        "[default]\naws_access_key_id = AKIAHOME\naws_secret_access_key = s\n"
    )
    (tmp_path / ".aws" / "config").write_text("[default]\nregion = eu-west-3\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    monkeypatch.setenv("AWS_PROFILE", "someone-else")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://169.254.169.254")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
    session = sealed_session()
    assert session.get_credentials() is None
    assert session.get_config_variable("region") is None
    assert session.get_scoped_config() == {}
