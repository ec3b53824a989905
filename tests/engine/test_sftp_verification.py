"""Each copy's attempt log says how its destination was checked: by the SSH
server's own sha256sum (no second transfer) or by reading it back.

Real haul server, a real worker process, the real sshd of tests/servers.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.engine.helpers import (
    add_credential,
    attempt_output,
    elements,
    failure_report,
    fresh_server,
    running_workers,
    submit,
    wait_job,
)
from tests.harness import ServerProcess
from tests.servers.fixtures import StorageServer


@pytest.fixture(scope="module")
def haul_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with fresh_server("sqlite", tmp_path_factory.mktemp("verify")) as srv:
        yield srv


def _site_url(server: StorageServer) -> str:
    parts = urlsplit(server.endpoint_url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def test_attempt_log_names_how_the_destination_was_verified(
    haul_server: ServerProcess, sftp_server: StorageServer, tmp_path: Path
) -> None:
    assert sftp_server.root is not None
    data = os.urandom(700_000)
    (sftp_server.root / "verify-in.bin").write_bytes(data)
    user = haul_server.new_user()
    site_id = user.site(name="verify-sftp", endpoints=[_site_url(sftp_server)])
    with user.client() as c, running_workers(haul_server, tmp_path) as workers:
        add_credential(c, site_id, sftp_server.credential)
        logs = {}
        for algorithm in ("sha256", "adler32"):
            job_id = submit(
                c,
                type="COPY",
                src_siteid=site_id,
                src_filepath="/verify-in.bin",
                dst_siteid=site_id,
                dst_filepath=f"/verify-out-{algorithm}.bin",
                extra_opts={"checksum": algorithm, "verify": True},
            )
            view = wait_job(c, job_id, timeout=60, workers=workers)
            assert view["status"] == "DONE", failure_report(c, job_id)
            copy = next(e for e in elements(c, job_id) if e["type"] == "COPY")
            logs[algorithm] = str(attempt_output(c, job_id, copy["id"], -1)["log"])
            out = sftp_server.root / f"verify-out-{algorithm}.bin"
            assert out.read_bytes() == data
    digest = hashlib.sha256(data).hexdigest()
    assert f"copied {len(data)} bytes, sha256 {digest}" in logs["sha256"]
    assert "destination verified: sha256 by the destination's checksum, no read back" in logs[
        "sha256"
    ]
    assert "destination verified: adler32 by reading it back" in logs["adler32"], logs["adler32"]
