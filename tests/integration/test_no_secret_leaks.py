"""No response, log line or database row shows a stored secret or a password hash.

Credentials with distinctive secrets are stored for every scheme that takes
one, jobs run on those sites (so outputs, elements and listings exist), and
then every GET route the server publishes in /openapi.json is called, with
real ids filled in, as the owner, an admin and a worker.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import ServerProcess
from tests.integration.api import S, ScriptedWorker, U, W

MARK = uuid.uuid4().hex[:10]
SECRETS = {
    "sftp_password": f"SFTP-PASSWORD-{MARK}",
    "private_key": f"-----BEGIN OPENSSH PRIVATE KEY-----\nKEYBODY{MARK}\n-----END-----",
    "passphrase": f"KEY-PASSPHRASE-{MARK}",
    "https_token": f"HTTPS-BEARER-{MARK}",
    "root_token": f"XROOTD-TOKEN-{MARK}",
    "s3_secret": f"S3-SECRET-KEY-{MARK}",
    "dav_password": f"DAV-PASSWORD-{MARK}",
    "user_password": f"USER-PASSWORD-{MARK}",
}
HASH_MARKERS = ("$argon2",)


@pytest.fixture(scope="module")
def lserver(iso_server: ServerProcess) -> ServerProcess:
    return iso_server


@pytest.fixture(scope="module")
def world(lserver: ServerProcess, iso_worker: ScriptedWorker) -> dict[str, Any]:
    """Users, sites with credentials, jobs with attempts; returns the ids to fill in."""
    owner = lserver.new_user(password=SECRETS["user_password"])
    worker = iso_worker
    materials = {
        "sftp://sftp.example.org/data": {"username": "alice", "password": SECRETS["sftp_password"]},
        "sftp://keys.example.org/": {"username": "alice", "private_key": SECRETS["private_key"],
                                     "passphrase": SECRETS["passphrase"]},
        "https://dav.example.org/": {"token": SECRETS["https_token"]},
        "davs://dav2.example.org/": {"username": "alice", "password": SECRETS["dav_password"]},
        "root://xrd.example.org//store": {"token": SECRETS["root_token"]},
        "s3://s3.example.org/bucket": {"access_key": "AKIDEXAMPLE",
                                       "secret_key": SECRETS["s3_secret"]},
    }
    sites: list[int] = []
    with owner.client() as c:
        for url, material in materials.items():
            sid = owner.site(endpoints=[url], public=True)
            r = c.post(f"{S}/session/{sid}", json={**material, "lifetime": 3600})
            assert r.status_code == 200, r.text
            sites.append(sid)
        jobs = []
        for sid in sites:
            r = c.post(f"{W}/copy", json={"src_siteid": sid, "dst_siteid": sites[0],
                                          "src_filepath": "/in", "dst_filepath": "/out"})
            assert r.status_code == 200, r.text
            jobs.append(r.json()["id"])
        named = c.post(f"{U}/tokens", json={"name": "leak-test", "lifetime": 3600}).json()
    # The lease is the one place secrets may travel; the worker then reports results.
    claimed = worker.claim(["LIST"])
    assert claimed
    for job in claimed:
        for e in job["elements"]:
            worker.succeed(job["id"], e["id"], e["token"], log="listed /in",
                           listing={"/in": [{"name": "f", "size": 3, "is_dir": False}]})
    leases = worker.claim_elements(["COPY"], limit=2)
    for (jid, eid), token in leases.items():
        worker.fail(jid, eid, token, retryable=False, code="PERMISSION_DENIED", log="denied")
    # Leave no queued work behind on the shared iso_server.
    for (jid, eid), token in worker.claim_elements(["COPY", "MKDIR"], limit=1000).items():
        worker.succeed(jid, eid, token, log="copied")
    return {
        "owner": owner, "worker_token": worker.token, "sites": sites, "jobs": jobs,
        "token_id": named["id"], "api_tokens": [owner.token, named["token"], worker.token],
    }


def forbidden(world: dict[str, Any]) -> list[str]:
    return [*SECRETS.values(), *world["api_tokens"], *HASH_MARKERS]


def get_paths(spec: dict[str, Any], world: dict[str, Any]) -> list[str]:
    ids = {
        "job_id": world["jobs"][0], "element_id": 0, "attempt": 1,
        "site_id": world["sites"][0], "token_id": world["token_id"],
        "user_id": world["owner"].id,
    }
    paths = []
    for template, ops in spec["paths"].items():
        if "get" not in ops:
            continue
        variants = [template]
        if "{job_id}" in template:
            variants = [template.replace("{job_id}", str(j)) for j in world["jobs"][:3]]
        if "{site_id}" in template:
            variants = [v.replace("{site_id}", str(s)) for v in variants for s in world["sites"]]
        for v in variants:
            paths.append(re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 1)), v))
        if "{element_id}" in template:
            paths.append(paths[-1].replace("/elements/0", "/elements/1"))
    return [*paths, "/docs", "/openapi.json", "/web", "/web/"]


def scan(c: httpx.Client, paths: list[str], bad: list[str]) -> int:
    checked = 0
    for path in paths:
        r = c.get(path)
        assert r.status_code != 500, (path, r.text)
        for secret in bad:
            assert secret not in r.text, (path, secret[:20])
            for value in r.headers.values():
                assert secret not in value, (path, secret[:20])
        checked += r.status_code == 200
    return checked


def test_no_get_route_shows_a_secret(lserver: ServerProcess, world: dict[str, Any]) -> None:
    with lserver.admin() as c:
        spec = c.get("/openapi.json").json()
    paths = get_paths(spec, world)
    assert len(paths) > 20
    bad = forbidden(world)
    with world["owner"].client() as c:
        assert scan(c, paths, bad) > 15
        # The owner's outputs really exist, so the scan covered them.
        out = c.get(f"{W}/jobs/{world['jobs'][0]}/output").json()
        assert out and out[0]["log"] == "listed /in"
    with lserver.admin() as c:
        assert scan(c, paths, bad) > 10
    with lserver.client(world["worker_token"]) as c:
        scan(c, paths, bad)
        # Its leases are all finished: a worker sees no site's endpoints outside a lease.
        assert c.get(f"{S}/endpoint/{world['sites'][0]}").status_code == 404


def test_errors_do_not_echo_secrets(lserver: ServerProcess, world: dict[str, Any]) -> None:
    owner = world["owner"]
    sid = world["sites"][0]
    secret = SECRETS["sftp_password"]
    with owner.client() as c:
        attempts = [
            c.post(f"{S}/session/{sid}", json={"username": "a", "password": [secret]}),
            c.post(f"{S}/session/{sid}", json={"username": "a", "password": secret, "x": secret}),
            c.post(f"{S}/session/{sid}", json={"password": secret}),
            c.post(f"{S}/session/{sid}", json={"username": "a", "password": secret,
                                               "lifetime": -1}),
            c.post(f"{S}/site", json={"site_name": "leaky",
                                      "endpoints": [f"sftp://alice:{secret}@h/"]}),
            c.put(f"{U}/passwd", json={"passwd": secret + "x", "newpasswd": "n"}),
        ]
    with lserver.client() as c:
        attempts.append(c.post(f"{U}/login", json={"email": owner.email, "passwd": secret}))
    with lserver.client(secret) as c:
        attempts.append(c.get("/whoami"))
    for r in attempts:
        assert 400 <= r.status_code < 500, r.text
        assert secret not in r.text


def test_secrets_are_not_stored_or_logged_in_plaintext(
    lserver: ServerProcess, world: dict[str, Any]
) -> None:
    plain = list(SECRETS.values())
    assert lserver.log_path is not None
    log = lserver.log_path.read_text(errors="replace")
    for secret in [*plain, *world["api_tokens"]]:
        assert secret not in log

    key = lserver.home / "secret.key"
    assert key.exists() and (key.stat().st_mode & 0o777) == 0o600

    if lserver.db_url.startswith("sqlite"):
        db_path = Path(lserver.db_url.split("///", 1)[1])
        blobs = [p.read_bytes() for p in db_path.parent.glob(db_path.name + "*")]
        assert blobs
        for secret in [*plain, *world["api_tokens"]]:
            for blob in blobs:
                assert secret.encode() not in blob, secret[:20]
        return

    import psycopg

    url = lserver.db_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        assert "credentials" in tables
        dump = []
        for table in tables:
            dump += [r[0] for r in conn.execute(f'SELECT row_to_json(t)::text FROM "{table}" t')]
    text = "\n".join(dump)
    assert "credentials" in tables and len(dump) > 10
    for secret in [*plain, *world["api_tokens"]]:
        assert secret not in text, secret[:20]
        assert secret.encode().hex() not in text, secret[:20]
