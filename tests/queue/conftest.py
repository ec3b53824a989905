"""Servers for the queue tests: sampling twice a second, retries held back for a while."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import ServerProcess
from tests.integration.api import dedicated_server

SAMPLE_SECONDS = 0.5


@pytest.fixture(scope="module")
def qserver(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own: the load numbers must count only this module's elements."""
    home: Path = tmp_path_factory.mktemp("qhome")
    args = ["--sample-seconds", str(SAMPLE_SECONDS), "--backoff-base", "60", "--backoff-cap", "60"]
    with dedicated_server(db_url, home, args) as srv:
        yield srv
