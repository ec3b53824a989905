"""What a lease says of its job's sites (services/claims.py: site_payloads): name,
default path, endpoints in their order, the credential, the host key, and trust (a
site an admin owns is trusted, a user's is not), for sites read together per claim."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import ServerProcess
from tests.integration.api import ScriptedWorker, W, dedicated_server


@pytest.fixture(scope="module")
def own_server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home: Path = tmp_path_factory.mktemp("lease-sites")
    with dedicated_server(db_url, home) as srv:
        yield srv


def test_a_lease_names_both_sites_as_they_are(own_server: ServerProcess) -> None:
    user = own_server.new_user()
    with own_server.admin() as admin:
        r = admin.post(
            "/site/api/v1.0/site",
            json={"site_name": "lease-admin-src", "endpoints": ["dummy://a1/", "dummy://a2/"],
                  "public": True, "def_path": "/data"},
        )
        assert r.status_code == 200, r.text
        src = int(r.json())
    dst = user.site("lease-user-dst", ["dummy://u2/", "dummy://u1/"])
    worker = ScriptedWorker(own_server, own_server.new_worker())
    ids = []
    with user.client() as c:
        for i in range(2):  # two jobs on the same pair of sites: one read of them per claim
            r = c.post(f"{W}/copy", json={"src_siteid": src, "src_filepath": f"/d{i}",
                                         "dst_siteid": dst, "dst_filepath": f"/e{i}"})
            assert r.status_code == 200, r.text
            ids.append(r.json()["id"])
    jobs = {j["id"]: j for j in worker.claim(["LIST"], limit=10)}
    assert sorted(jobs) == ids
    for job in jobs.values():
        assert job["src_site"] == {
            "site_id": src,
            "site_name": "lease-admin-src",
            "def_path": "/data",
            "endpoints": ["dummy://a1/", "dummy://a2/"],
            "credential": None,
            "trusted": True,
            "host_key": None,
        }
        assert job["dst_site"] == {
            "site_id": dst,
            "site_name": "lease-user-dst",
            "def_path": "/",
            "endpoints": ["dummy://u2/", "dummy://u1/"],
            "credential": None,
            "trusted": False,
            "host_key": None,
        }
