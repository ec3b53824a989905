"""End to end over real protocols: HTTP API, a real haul server, real worker processes.

A directory tree (nested directories, an empty subdirectory, a name with a
space and non-ASCII letters, a 0-byte file, a 50 MB file of random bytes) is
placed on the SFTP server and copied hop by hop through every protocol:

    sftp -> root:// (XRootD) -> https:// (WebDAV) -> s3:// -> file://

After every hop each destination file is compared byte for byte with its
source. Then every site gets a RENAME and a MKDIR, the copies are REMOVEd, and
a LIST of each site shows them gone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from haul.storage import Storage, open_storage
from tests.engine.helpers import (
    add_credential,
    element,
    elements,
    failure_report,
    fresh_server,
    running_workers,
    submit,
    wait_job,
)
from tests.harness import ServerProcess, User
from tests.servers.fixtures import StorageServer

BIG = 50 * 1024 * 1024
ODD_NAME = "file with space é ü 日本.txt"

# relative path -> content (None marks a directory)
TREE: dict[str, bytes | None] = {
    "a": None,
    "a/b": None,
    "a/b/deep.txt": b"deep in the tree\n" * 100,
    "a/empty": None,
    "a/mid.dat": bytes(range(256)) * 40,
    ODD_NAME: "unicode and spaces: é ü 日本\n".encode(),
    "zero.bin": b"",
    "small.txt": b"small\n",
}


@dataclass
class SiteUnderTest:
    name: str
    site_id: int
    storage_url: str
    credential: dict[str, Any]
    local_root: Path | None  # where the storage keeps its files on this machine
    storage_prefix: str  # the path prefix job paths resolve under

    def storage(self) -> Storage:
        return open_storage(self.storage_url, self.credential)

    def path(self, job_path: str) -> str:
        return f"{self.storage_prefix.rstrip('/')}/{job_path.lstrip('/')}"


def _site_url(server: StorageServer) -> str:
    """Site endpoints carry no user name; the credential does."""
    parts = urlsplit(server.endpoint_url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _prefix(url: str) -> str:
    return "/" + urlsplit(url).path.strip("/")


@pytest.fixture(scope="module")
def big_bytes() -> bytes:
    return os.urandom(BIG)


@pytest.fixture(scope="module")
def haul_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    work = tmp_path_factory.mktemp("e2e")
    with fresh_server("sqlite", work, file_root=work / "files") as srv:
        srv.file_root = work / "files"  # type: ignore[attr-defined]
        yield srv


@pytest.fixture(scope="module")
def sites(
    haul_server: ServerProcess,
    sftp_server: StorageServer,
    xrootd_server: StorageServer,
    webdavs_server: StorageServer,
    s3_server: StorageServer,
) -> tuple[User, dict[str, SiteUnderTest]]:
    user = haul_server.new_user()
    file_dir: Path = haul_server.file_root  # type: ignore[attr-defined]
    specs = {
        "sftp": (sftp_server, _site_url(sftp_server)),
        "root": (xrootd_server, _site_url(xrootd_server)),
        "dav": (webdavs_server, _site_url(webdavs_server)),
        "s3": (s3_server, _site_url(s3_server)),
        "file": (StorageServer(f"file://{file_dir}", {}, file_dir), f"file://{file_dir}"),
    }
    out: dict[str, SiteUnderTest] = {}
    with user.client() as c, haul_server.admin() as admin:
        for name, (srv, url) in specs.items():
            body: dict[str, Any] = {"site_name": f"e2e-{name}", "endpoints": [url]}
            registrar = c
            if not srv.credential and not url.startswith("file:"):
                # Only admins may register a network site that needs no credential.
                body.update(requires_credential=False, public=True)
                registrar = admin
            r = registrar.post("/site/api/v1.0/site", json=body)
            assert r.status_code == 200, r.text
            site_id = int(r.json())
            if srv.credential:
                add_credential(c, site_id, srv.credential)
            # The test reads storages itself; a self-signed server needs its CA.
            access = {**srv.credential, **({"ca_cert": str(srv.ca_file)} if srv.ca_file else {})}
            out[name] = SiteUnderTest(name, site_id, url, access, srv.root, _prefix(url))
    return user, out


def _place_tree(root: Path, big: bytes) -> dict[str, bytes | None]:
    tree = dict(TREE)
    tree["big.bin"] = big
    base = root / "tree"
    for rel, content in sorted(tree.items()):
        target = base / rel
        if content is None:
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    return tree


def _read_all(storage: Storage, path: str) -> bytes:
    with storage.open_read(path) as stream:
        return stream.read()


def _check_copy(site: SiteUnderTest, top: str, tree: dict[str, bytes | None]) -> None:
    """Every file byte for byte, every directory present, nothing extra, no temporaries."""
    storage = site.storage()
    try:
        seen = {e.path[len(site.path(top)) + 1 :]: e for e in storage.list(site.path(top), depth=0)}
        assert set(seen) == set(tree), f"{site.name}: tree differs: {sorted(seen)}"
        for rel, content in tree.items():
            if content is None:
                assert seen[rel].is_dir, f"{site.name}: {rel} is not a directory"
                if site.local_root is not None:
                    assert (site.local_root / top.strip("/") / rel).is_dir()
                continue
            if site.local_root is not None:
                got = (site.local_root / top.strip("/") / rel).read_bytes()
            else:
                got = _read_all(storage, site.path(f"{top}/{rel}"))
            assert len(got) == len(content), f"{site.name}: {rel}: size {len(got)}"
            same = got == content  # byte for byte (kept out of pytest's diff machinery)
            assert same, f"{site.name}: {rel}: bytes differ"
    finally:
        storage.close()


def _run(client: httpx.Client, workers: list[Any], timeout: float = 120, **body: Any) -> int:
    job_id = submit(client, **body)
    view = wait_job(client, job_id, timeout=timeout, workers=workers)
    assert view["status"] == "DONE", f"{body}: {view}\n{failure_report(client, job_id)}"
    return job_id


def _run_many(
    client: httpx.Client, workers: list[Any], bodies: list[dict[str, Any]], timeout: float = 60
) -> list[int]:
    ids = [submit(client, **b) for b in bodies]
    for job_id, body in zip(ids, bodies, strict=True):
        view = wait_job(client, job_id, timeout=timeout, workers=workers)
        assert view["status"] == "DONE", f"{body}: {view}\n{failure_report(client, job_id)}"
    return ids


def test_tree_through_every_protocol(
    haul_server: ServerProcess,
    sites: tuple[User, dict[str, SiteUnderTest]],
    big_bytes: bytes,
    webdavs_server: StorageServer,
    tmp_path: Path,
) -> None:
    user, s = sites
    assert s["sftp"].local_root is not None
    tree = _place_tree(s["sftp"].local_root, big_bytes)
    hops = [
        ("sftp", "/tree", "root", "/c1"),
        ("root", "/c1", "dav", "/c2"),
        ("dav", "/c2", "s3", "/c3"),
        ("s3", "/c3", "file", "/c4"),
    ]
    env = {"SSL_CERT_FILE": str(webdavs_server.ca_file)}
    with (
        running_workers(haul_server, tmp_path, n=1, concurrency=4, env=env) as workers,
        user.client() as c,
    ):
        # -- COPY, hop by hop, each verified against the original bytes ---------
        for src, src_path, dst, dst_path in hops:
            job_id = _run(
                c,
                workers,
                timeout=120,
                type="COPY",
                src_siteid=s[src].site_id,
                src_filepath=src_path,
                dst_siteid=s[dst].site_id,
                dst_filepath=dst_path,
                extra_opts={"checksum": "adler32", "verify": True},
            )
            done = [e for e in elements(c, job_id) if e["type"] == "COPY"]
            assert len(done) == sum(1 for v in tree.values() if v is not None)
            assert {e["status"] for e in done} == {"DONE"}
            _check_copy(s[dst], dst_path, tree)

        # -- RENAME and MKDIR on each protocol ------------------------------------
        tops = {"sftp": "/tree", "root": "/c1", "dav": "/c2", "s3": "/c3", "file": "/c4"}
        bodies: list[dict[str, Any]] = []
        for name, top in tops.items():
            bodies.append(
                {
                    "type": "RENAME",
                    "src_siteid": s[name].site_id,
                    "src_filepath": f"{top}/small.txt",
                    "dst_filepath": f"{top}/renamed.txt",
                }
            )
            bodies.append(
                {"type": "MKDIR", "src_siteid": s[name].site_id, "src_filepath": f"{top}/made/sub"}
            )
        _run_many(c, workers, bodies)
        for name, top in tops.items():
            storage = s[name].storage()
            try:
                assert not storage.exists(s[name].path(f"{top}/small.txt")), name
                renamed = _read_all(storage, s[name].path(f"{top}/renamed.txt"))
                assert renamed == TREE["small.txt"], name
                assert storage.stat(s[name].path(f"{top}/made/sub")).is_dir, name
                assert storage.stat(s[name].path(f"{top}/made")).is_dir, name
            finally:
                storage.close()

        # -- REMOVE the copies, then LIST each site: they are gone ---------------
        copies = {"root": "/c1", "dav": "/c2", "s3": "/c3", "file": "/c4"}
        _run_many(
            c,
            workers,
            [
                {"type": "REMOVE", "src_siteid": s[name].site_id, "src_filepath": top}
                for name, top in copies.items()
            ],
        )
        list_ids = _run_many(
            c,
            workers,
            [
                {"type": "LIST", "src_siteid": s[name].site_id, "src_filepath": "/"}
                for name in copies
            ],
        )
        for (name, top), list_id in zip(copies.items(), list_ids, strict=True):
            listing = element(c, list_id, 0)["listing"]
            names = {e["name"] for entries in listing.values() for e in entries}
            assert top.strip("/") not in names, f"{name}: {top} still listed: {listing}"
            local = s[name].local_root
            if local is not None:
                assert not (local / top.strip("/")).exists(), name
            else:
                storage = s[name].storage()
                try:
                    assert not storage.exists(s[name].path(top)), name
                finally:
                    storage.close()
        # The source tree is untouched apart from its own rename and mkdir.
        src_root = s["sftp"].local_root / "tree"
        untouched = (src_root / "big.bin").read_bytes() == big_bytes
        assert untouched, "the source's big file changed"
        assert (src_root / ODD_NAME).read_bytes() == TREE[ODD_NAME]
    # Stopped with SIGTERM at the end of the block: a worker with nothing held exits 0.
    assert [w.proc.returncode for w in workers] == [0], workers[0].log_text()
