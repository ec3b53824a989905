"""A dedicated server per test module (per backend), so no other test's work is claimed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.control.helpers import JobMaker, Worker
from tests.harness import ServerProcess, User
from tests.integration.api import dedicated_server

SERVER_ARGS = [
    "--reaper-seconds", "0.5",
    "--lease-seconds", "30",
    "--backoff-base", "0.001",
    "--backoff-cap", "0.001",
]


@pytest.fixture(scope="module")
def srv(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("control")
    root = tmp_path_factory.mktemp("control-files")
    with dedicated_server(db_url, home, [*SERVER_ARGS, "--file-root", str(root)]) as server:
        server.file_root = root  # type: ignore[attr-defined]
        yield server


@pytest.fixture(scope="module")
def file_root(srv: ServerProcess) -> Path:
    return srv.file_root  # type: ignore[attr-defined,no-any-return]


@pytest.fixture(scope="module")
def worker_token(srv: ServerProcess) -> str:
    return srv.new_worker()  # one CLI call per module: each costs a second or two


@pytest.fixture(scope="module")
def scripted(srv: ServerProcess, worker_token: str) -> Iterator[Worker]:
    with srv.client(worker_token) as http:
        yield Worker(http)


@pytest.fixture(scope="module")
def owner(srv: ServerProcess) -> User:
    """One owner per module: logging in hashes a password, which costs a fraction of a second."""
    return srv.new_user()


@pytest.fixture(scope="module")
def other(srv: ServerProcess) -> User:
    return srv.new_user()


@pytest.fixture(scope="module")
def oc(owner: User) -> Iterator[httpx.Client]:
    with owner.client() as c:
        yield c


@pytest.fixture(scope="module")
def xc(other: User) -> Iterator[httpx.Client]:
    with other.client() as c:
        yield c


@pytest.fixture(scope="module")
def ac(srv: ServerProcess) -> Iterator[httpx.Client]:
    with srv.admin() as c:
        yield c


@pytest.fixture(scope="module")
def owner_site(owner: User) -> int:
    return owner.site(endpoints=["dummy://ctl/"])


@pytest.fixture
def maker(
    srv: ServerProcess, scripted: Worker, owner: User, oc: httpx.Client, owner_site: int
) -> Iterator[JobMaker]:
    m = JobMaker(srv, scripted, owner, oc, owner_site)
    yield m
    m.cleanup()
