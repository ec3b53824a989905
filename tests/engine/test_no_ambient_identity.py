"""Workers never lend their own identity to a site.

S3: a worker process with AWS keys in its environment and in `~/.aws` (under
the HOME it runs with) lists a site that has no credential; the real moto
server's request log shows the requests unsigned, while a site with a stored
credential is signed with that credential and never with the worker's keys.

XRootD: against a real xrootd that admits only clients authenticating with
the account they run as (`unix`), a plain XRootD client gets in with the
worker's identity; haul's backend does not, it connects anonymously.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from haul.domain.errors import ErrorCode, TransferError
from haul.storage import open_storage
from tests.engine.helpers import (
    add_credential,
    failure_report,
    fresh_server,
    running_workers,
    submit,
    wait_job,
)
from tests.harness import ServerProcess
from tests.servers.fixtures import StorageServer

WORKER_KEY = "AKIAWORKERENVIRON001"
HOME_KEY = "AKIAWORKERHOMEFILE01"
WORKER_SECRETS = (WORKER_KEY, HOME_KEY, "worker-env-secret", "worker-home-secret", "worker-tok")


@pytest.fixture()
def haul_server(tmp_path: Path) -> Iterator[ServerProcess]:
    with fresh_server("sqlite", tmp_path) as srv:
        yield srv


def _worker_env(home: Path) -> dict[str, str]:
    aws = home / ".aws"
    aws.mkdir(parents=True)
    (aws / "credentials").write_text(
        f"[default]\naws_access_key_id = {HOME_KEY}\n"
        "aws_secret_access_key = worker-home-secret\n"
    )
    (aws / "config").write_text("[default]\nregion = us-east-1\n")
    return {
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": WORKER_KEY,
        "AWS_SECRET_ACCESS_KEY": "worker-env-secret",
        "AWS_SESSION_TOKEN": "worker-tok",
    }


def _requests_since(log: Path, start: int) -> list[dict[str, Any]]:
    lines = log.read_text().splitlines()[start:] if log.exists() else []
    return [json.loads(line) for line in lines if line.strip()]


def _line_count(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_s3_site_without_credential_is_read_unsigned(
    haul_server: ServerProcess, s3_recorded_server: StorageServer, tmp_path: Path
) -> None:
    s3 = s3_recorded_server
    assert s3.request_log is not None
    user = haul_server.new_user()
    with haul_server.admin() as admin:
        r = admin.post(
            "/site/api/v1.0/site",
            json={
                "site_name": "open-bucket",
                "endpoints": [s3.endpoint_url],
                "requires_credential": False,
                "public": True,
            },
        )
        assert r.status_code == 200, r.text
        open_site = int(r.json())
    signed_site = user.site(name="signed-bucket", endpoints=[s3.endpoint_url])
    env = _worker_env(tmp_path / "worker-home")
    with (
        user.client() as c,
        running_workers(haul_server, tmp_path / "logs", env=env) as workers,
    ):
        add_credential(c, signed_site, s3.credential)
        for site_id, signed in ((open_site, False), (signed_site, True)):
            start = _line_count(s3.request_log)
            job_id = submit(c, type="LIST", src_siteid=site_id, src_filepath="/")
            view = wait_job(c, job_id, timeout=60, workers=workers)
            assert view["status"] == "DONE", failure_report(c, job_id)
            requests = _requests_since(s3.request_log, start)
            assert requests, "the worker sent no request to the S3 server"
            for request in requests:
                headers = {k.lower(): v for k, v in request["headers"].items()}
                text = json.dumps(headers)
                assert not any(s in text for s in WORKER_SECRETS), (request["url"], headers)
                if signed:
                    assert "Credential=haul-access/" in headers.get("authorization", ""), headers
                else:
                    assert "authorization" not in headers, (request["url"], headers)
                    assert "x-amz-security-token" not in headers, headers


_RAW_STAT = """
import sys
from XRootD import client
status, _ = client.FileSystem(sys.argv[1]).stat(sys.argv[2], timeout=20)
print(status.ok, status.message)
sys.exit(0 if status.ok else 1)
"""


def test_xrootd_never_authenticates_with_the_workers_identity(
    xrootd_unix_auth_server: StorageServer,
) -> None:
    server = xrootd_unix_auth_server
    assert server.root is not None
    base = server.endpoint_url.split("//")[1].split("/")[0]
    # A plain client (its own process: XRootD shares connections per process)
    # gets in as the account it runs as: the identity a worker would lend.
    raw = subprocess.run(
        [sys.executable, "-c", _RAW_STAT, f"root://{base}", str(server.root)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert raw.returncode == 0, raw.stdout + raw.stderr
    storage = open_storage(server.endpoint_url, {})
    try:
        with pytest.raises(TransferError) as refused:
            storage.stat(str(server.root))
    finally:
        storage.close()
    assert refused.value.code is ErrorCode.NO_CREDENTIAL, refused.value
