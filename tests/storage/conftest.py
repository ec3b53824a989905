"""One parametrised `case` per backend, each on a fresh directory of its server."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from haul.storage import Storage, open_storage
from haul.storage import dummy as dummy_backend

BACKENDS = ["file", "dummy", "sftp", "root", "webdav", "s3"]


@dataclass
class Case:
    name: str
    storage: Storage
    base: str  # a fresh, empty directory on the storage for this test
    local: Callable[[str], Path] | None  # storage path -> backing local file, if any


def _local_mapper(storage_root: str, disk_root: Path) -> Callable[[str], Path]:
    def local(path: str) -> Path:
        assert path.startswith(storage_root)
        return disk_root / path[len(storage_root) :].lstrip("/")

    return local


@pytest.fixture(scope="session")
def storages() -> Iterator[dict[str, tuple[Storage, str, object]]]:
    """Storages opened on first use, so one missing server skips only its own tests."""
    opened: dict[str, tuple[Storage, str, object]] = {}
    yield opened
    for name, (storage, _, disk) in opened.items():
        storage.close()
        if name == "file" and isinstance(disk, Path):
            shutil.rmtree(disk, ignore_errors=True)


def _open(request: pytest.FixtureRequest, name: str) -> tuple[Storage, str, object]:
    if name == "file":
        root = Path(tempfile.mkdtemp(prefix="haul-file-"))
        return open_storage(f"file://{root}"), str(root), root
    if name == "dummy":
        dummy_backend.reset("tests")
        return open_storage("dummy://tests/mem?keep=1"), "/mem", None
    server = request.getfixturevalue(
        {"sftp": "sftp_server", "root": "xrootd_server", "webdav": "webdav_server"}.get(
            name, f"{name}_server"
        )
    )
    storage = open_storage(server.endpoint_url, server.credential)
    if name == "webdav":
        return storage, "/dav", server.root
    if name == "s3":
        return storage, "/" + server.endpoint_url.split("/")[3].split("?")[0], None
    return storage, str(server.root), server.root


def make_case(request: pytest.FixtureRequest, name: str) -> Case:
    storage, root, disk = _cached(request, name)
    base = f"{root.rstrip('/')}/t-{uuid.uuid4().hex[:10]}"
    storage.mkdir(base, parents=True)
    local = _local_mapper(root, disk) if isinstance(disk, Path) else None
    return Case(name, storage, base, local)


def _cached(request: pytest.FixtureRequest, name: str) -> tuple[Storage, str, object]:
    opened: dict[str, tuple[Storage, str, object]] = request.getfixturevalue("storages")
    if name not in opened:
        opened[name] = _open(request, name)
    return opened[name]


@pytest.fixture(params=BACKENDS)
def case(request: pytest.FixtureRequest) -> Case:
    return make_case(request, request.param)
