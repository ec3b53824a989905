"""SSRF: workers refuse loopback, link-local and private addresses for sites
registered by non-admins, unless `--allow-network` allows them.

Real haul server, real worker processes started WITHOUT the harness's
loopback allowance, and the real storage servers of tests/servers (all on
127.0.0.1): a user's site on each protocol fails its element at once with
PERMISSION_DENIED naming the address and the flag; an admin's site on the
same server works; a worker started with `--allow-network` serves the user.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from haul.domain.errors import ErrorCode, TransferError
from haul.storage import SiteAccess, open_storage
from haul.storage.network_policy import NetworkPolicy
from tests.engine.helpers import (
    add_credential,
    attempt_output,
    elements,
    fresh_server,
    running_workers,
    submit,
    wait_job,
)
from tests.harness import ServerProcess, User
from tests.servers.fixtures import StorageServer


def _site_url(server: StorageServer) -> str:
    parts = urlsplit(server.endpoint_url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@pytest.fixture(scope="module")
def haul_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with fresh_server("sqlite", tmp_path_factory.mktemp("ssrf")) as srv:
        yield srv


@pytest.fixture(scope="module")
def user(haul_server: ServerProcess) -> User:
    return haul_server.new_user()


def _user_site(user: User, url: str, credential: dict[str, Any]) -> int:
    site_id = user.site(endpoints=[url])
    with user.client() as c:
        add_credential(c, site_id, credential)
    return site_id


@pytest.fixture(scope="module")
def loopback_sites(
    user: User,
    sftp_server: StorageServer,
    webdavs_server: StorageServer,
    s3_server: StorageServer,
    xrootd_server: StorageServer,
) -> dict[str, tuple[int, str]]:
    """A site of the user's own on every protocol, all on 127.0.0.1: (site id, path)."""
    assert sftp_server.root is not None and xrootd_server.root is not None
    dav_cred = {**webdavs_server.credential, "ca_cert": str(webdavs_server.ca_file)}
    return {
        "sftp": (_user_site(user, _site_url(sftp_server), sftp_server.credential), "/"),
        "https": (_user_site(user, webdavs_server.endpoint_url, dav_cred), "/"),
        "s3": (_user_site(user, s3_server.endpoint_url, s3_server.credential), "/"),
        "root": (_user_site(user, xrootd_server.endpoint_url, {"token": "user-token"}), "/"),
    }


def _list(user: User, site_id: int, path: str, workers: list[Any]) -> tuple[str, dict[str, Any]]:
    """Runs a LIST; its status and its first attempt's error (None when it worked)."""
    with user.client() as c:
        job_id = submit(c, type="LIST", src_siteid=site_id, src_filepath=path, max_tries=3)
        view = wait_job(c, job_id, timeout=60, workers=workers)
        listing = elements(c, job_id)[0]
        out = attempt_output(c, job_id, listing["id"], 1)
        assert listing["attempts"] == 1, listing  # refused once, never retried
        return view["status"], out["error"]


def test_user_sites_on_loopback_are_refused_on_every_protocol(
    haul_server: ServerProcess, user: User, loopback_sites: dict[str, tuple[int, str]],
    tmp_path: Path,
) -> None:
    with running_workers(haul_server, tmp_path, allow_loopback=False) as workers:
        for protocol, (site_id, path) in loopback_sites.items():
            status, error = _list(user, site_id, path, workers)
            assert status == "FAILED", (protocol, error)
            assert error["code"] == "PERMISSION_DENIED", (protocol, error)
            assert error["scope"] == "SOURCE", (protocol, error)
            assert error["retryable"] is False, (protocol, error)
            assert "127.0.0.1" in error["message"], (protocol, error)
            assert "loopback" in error["message"], (protocol, error)
            assert "--allow-network 127.0.0.1/32" in error["message"], (protocol, error)


def test_metadata_address_is_refused(
    haul_server: ServerProcess, user: User, tmp_path: Path
) -> None:
    site_id = _user_site(
        user, "s3://169.254.169.254/latest?scheme=http", {"access_key": "a", "secret_key": "b"}
    )
    with running_workers(haul_server, tmp_path, allow_loopback=False) as workers:
        status, error = _list(user, site_id, "/", workers)
    assert status == "FAILED"
    assert error["code"] == "PERMISSION_DENIED"
    assert "169.254.169.254" in error["message"] and "link-local" in error["message"]


def test_admin_sites_are_trusted_and_allow_network_opens_user_sites(
    haul_server: ServerProcess,
    user: User,
    sftp_server: StorageServer,
    loopback_sites: dict[str, tuple[int, str]],
    tmp_path: Path,
) -> None:
    with haul_server.admin() as admin:
        r = admin.post(
            "/site/api/v1.0/site",
            json={"site_name": "admin-sftp", "endpoints": [_site_url(sftp_server)], "public": True},
        )
        assert r.status_code == 200, r.text
        admin_site = int(r.json())
    with user.client() as c:
        add_credential(c, admin_site, sftp_server.credential)
    with running_workers(haul_server, tmp_path, allow_loopback=False) as workers:
        status, error = _list(user, admin_site, "/", workers)
        assert status == "DONE", error
    site_id, path = loopback_sites["sftp"]
    with running_workers(
        haul_server, tmp_path, allow_loopback=False, extra_args=["--allow-network", "127.0.0.0/8"]
    ) as workers:
        status, error = _list(user, site_id, path, workers)
        assert status == "DONE", error
    env = {"HAUL_ALLOW_NETWORK": "10.0.0.0/8,127.0.0.1/32"}
    with running_workers(haul_server, tmp_path, allow_loopback=False, env=env) as workers:
        status, error = _list(user, site_id, path, workers)
        assert status == "DONE", error


def test_the_address_connected_to_is_checked_not_only_a_first_lookup(
    s3_server: StorageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name is public when the storage opens, loopback when it connects.

    The resolver is the one piece simulated here (no DNS server in the test
    environment): the first lookup of `rebind.test` answers a public address,
    every later one 127.0.0.1, where the real moto server listens.
    """
    real = socket.getaddrinfo
    answers = iter(["93.184.216.34"])

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.test":
            return real(host, port, *args, **kwargs)
        address = next(answers, "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = urlsplit(s3_server.endpoint_url).port
    url = f"s3://rebind.test:{port}/haul-test?scheme=http"
    access = SiteAccess(network=NetworkPolicy())
    storage = open_storage(url, s3_server.credential, access)  # the first lookup: public
    try:
        with pytest.raises(TransferError) as refused:
            storage.stat("/haul-test")
    finally:
        storage.close()
    assert refused.value.code is ErrorCode.PERMISSION_DENIED
    assert "rebind.test (127.0.0.1)" in refused.value.message
