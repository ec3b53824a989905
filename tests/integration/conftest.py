"""Servers shared by the API tests in this directory (one per database backend)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import ServerProcess
from tests.integration.api import ScriptedWorker, dedicated_server


@pytest.fixture(scope="session")
def iso_server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server where only these tests queue work, so a scripted worker claims only theirs.

    It runs with open registration and near-instant retries (a retried element
    can be claimed again at once). Tests that leave work queued here drain it.
    """
    home = tmp_path_factory.mktemp("iso")
    args = ["--open-registration", "--backoff-base", "0.001", "--backoff-cap", "0.001"]
    with dedicated_server(db_url, home, args) as srv:
        yield srv


@pytest.fixture(scope="session")
def iso_worker(iso_server: ServerProcess) -> ScriptedWorker:
    return ScriptedWorker(iso_server, iso_server.new_worker())


@pytest.fixture(scope="session")
def worker_token(server: ServerProcess) -> str:
    """A worker account's token on the shared server."""
    return server.new_worker()
