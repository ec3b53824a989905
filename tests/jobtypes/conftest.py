"""Fixtures for the job-type tests: one dedicated live server per database backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.jobtypes.live import JobTypesLive, job_types_haul


@pytest.fixture(scope="package")
def jt(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JobTypesLive]:
    with job_types_haul(db_url, tmp_path_factory.mktemp("jobtypes")) as live:
        yield live


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No token or login of the person running the tests reaches the client."""
    monkeypatch.delenv("HAUL_TOKEN", raising=False)
    monkeypatch.delenv("HAUL_SERVER", raising=False)
    monkeypatch.setenv("HAUL_CONFIG_DIR", str(tmp_path / "config"))
