"""SFTP host keys are pinned on first use.

Real haul server, a real worker process and the real sshd of tests/servers:
the first job pins the server's host key on the site; a different pinned key
(what a changed or impersonated server looks like) fails the element with
PERMISSION_DENIED naming the site and the reset; the owner's reset lets the
next job pin again; an explicit host_key in the credential still wins.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.engine.helpers import (
    WORKER,
    add_credential,
    attempt_output,
    elements,
    failure_report,
    fresh_server,
    running_workers,
    submit,
    wait_job,
)
from tests.harness import ServerProcess, User
from tests.servers.fixtures import StorageServer

S = "/site/api/v1.0"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def haul_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    with fresh_server(request.param, tmp_path_factory.mktemp("pin")) as srv:
        yield srv


def _server_key(sftp: StorageServer) -> str:
    """The sshd fixture's host key, "TYPE BASE64" (its key file sits beside the export)."""
    assert sftp.root is not None
    return " ".join((sftp.root.parent / "host_ed25519.pub").read_text().split()[:2])


def _other_key(tmp_path: Path) -> str:
    key = tmp_path / "other_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return " ".join(Path(f"{key}.pub").read_text().split()[:2])


def _site_url(server: StorageServer) -> str:
    parts = urlsplit(server.endpoint_url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def _list(c: Any, site_id: int, workers: list[Any]) -> tuple[str, dict[str, Any] | None]:
    job_id = submit(c, type="LIST", src_siteid=site_id, src_filepath="/")
    view = wait_job(c, job_id, timeout=60, workers=workers)
    first = elements(c, job_id)[0]
    out = attempt_output(c, job_id, first["id"], 1)
    if view["status"] == "DONE":
        return "DONE", None
    return view["status"], out["error"] | {"report": failure_report(c, job_id)}


def test_first_use_pins_a_changed_key_fails_and_reset_pins_again(
    haul_server: ServerProcess, sftp_server: StorageServer, tmp_path: Path
) -> None:
    user = haul_server.new_user()
    stranger = haul_server.new_user()
    site_id = user.site(name="pinned-sftp", endpoints=[_site_url(sftp_server)])
    real_key, other_key = _server_key(sftp_server), _other_key(tmp_path)
    with user.client() as c, running_workers(haul_server, tmp_path) as workers:
        add_credential(c, site_id, sftp_server.credential)
        assert c.get(f"{S}/site/{site_id}").json()["host_key"] is None

        status, error = _list(c, site_id, workers)
        assert status == "DONE", error
        assert c.get(f"{S}/site/{site_id}").json()["host_key"] == real_key

        # The pinned key no longer matches what the server presents.
        r = c.put(f"{S}/site/{site_id}/host_key", json={"host_key": other_key})
        assert r.status_code == 200, r.text
        status, error = _list(c, site_id, workers)
        assert status == "FAILED" and error is not None
        assert error["code"] == "PERMISSION_DENIED", error
        assert error["retryable"] is False, error
        assert f"site pinned-sftp (id {site_id})" in error["message"], error
        assert f"DELETE /site/api/v1.0/site/{site_id}/host_key" in error["message"], error
        assert real_key in error["message"], error

        # Only the owner resets the pin.
        with stranger.client() as sc:
            assert sc.delete(f"{S}/site/{site_id}/host_key").status_code in (403, 404)
        r = c.delete(f"{S}/site/{site_id}/host_key")
        assert r.status_code == 200, r.text
        assert c.get(f"{S}/site/{site_id}").json()["host_key"] is None
        status, error = _list(c, site_id, workers)
        assert status == "DONE", error
        assert c.get(f"{S}/site/{site_id}").json()["host_key"] == real_key


def test_an_explicit_host_key_in_the_credential_wins(
    haul_server: ServerProcess, sftp_server: StorageServer, tmp_path: Path
) -> None:
    user = haul_server.new_user()
    site_id = user.site(endpoints=[_site_url(sftp_server)])
    with user.client() as c, running_workers(haul_server, tmp_path) as workers:
        add_credential(c, site_id, {**sftp_server.credential, "host_key": _other_key(tmp_path)})
        status, error = _list(c, site_id, workers)
        assert status == "FAILED" and error is not None
        assert error["code"] == "PERMISSION_DENIED", error
        assert "credential" in error["message"], error
        # Nothing was pinned from a connection that was refused.
        assert c.get(f"{S}/site/{site_id}").json()["host_key"] is None


def test_host_keys_are_checked_and_only_lease_holders_pin(
    haul_server: ServerProcess, sftp_server: StorageServer, tmp_path: Path
) -> None:
    user: User = haul_server.new_user()
    other_key = _other_key(tmp_path)
    with user.client() as c:
        r = c.post(
            f"{S}/site",
            json={"site_name": "bad-key", "endpoints": [_site_url(sftp_server)],
                  "host_key": "ssh-ed25519 not-base64!"},
        )
        assert r.status_code == 400 and r.json()["detail"].startswith("host_key:"), r.text
        r = c.post(
            f"{S}/site",
            json={"site_name": "dav-key", "endpoints": ["https://dav.example.org/"],
                  "host_key": other_key},
        )
        assert r.status_code == 400 and "sftp" in r.json()["detail"], r.text
        site_id = user.site(endpoints=[_site_url(sftp_server)])
    with haul_server.client(haul_server.new_worker()) as w:
        r = w.put(
            f"{WORKER}/host_key",
            json={"jobid": 1, "elementid": 1, "token": "forged", "site_id": site_id,
                  "host_key": other_key},
        )
        assert r.status_code == 404, r.text
    with user.client() as c:
        assert c.get(f"{S}/site/{site_id}").json()["host_key"] is None
