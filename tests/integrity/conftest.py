"""Servers for the integrity tests: each runs on a fresh database of the session's backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import ServerProcess
from tests.integration.api import ScriptedWorker, dedicated_server


@pytest.fixture(scope="module")
def own_server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose queue holds only this module's work (a scripted worker claims it all)."""
    home = tmp_path_factory.mktemp("integrity")
    args = ["--backoff-base", "0.001", "--backoff-cap", "0.001"]
    with dedicated_server(db_url, home, args) as srv:
        yield srv


@pytest.fixture(scope="module")
def scripted(own_server: ServerProcess) -> ScriptedWorker:
    return ScriptedWorker(own_server, own_server.new_worker())
