"""The worker runs the built-in types by their enum names, and nothing else by method.

A lease names its type as a string; only ``JobType``'s names select one of the
Executor's operations, so a custom type without a handler is refused as
UNSUPPORTED even when its name is a built-in's in lower case or an Executor
method's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from haul.domain.enums import JobType
from haul.worker.config import WorkerConfig
from haul.worker.operations import Executor, Running


def _lease(root: Path, kind: str) -> Running:
    site = {"site_id": 1, "site_name": "local", "def_path": "/", "endpoints": [f"file://{root}"]}
    job = {"id": 7, "type": kind, "protocol": "FILE", "extra_opts": {}, "src_site": site}
    element = {
        "id": 0,
        "job_id": 7,
        "type": kind,
        "src_filepath": "/a",
        "dst_filepath": None,
        "attempts": 0,
        "attempt_seq": 0,
        "token": "t.0",
        "mode": None,
    }
    return Running(job=job, element=element)


def test_a_worker_serves_every_builtin_type_by_default() -> None:
    assert WorkerConfig(server="http://x", token="t").types == [t.name for t in JobType]


@pytest.mark.parametrize("kind", ["mkdir", "src", "place", "custom", "Mkdir"])
def test_a_type_no_handler_serves_is_unsupported(tmp_path: Path, kind: str) -> None:
    result = Executor([str(tmp_path)]).run(_lease(tmp_path, kind), lambda _r: None)
    assert result["returncode"] == 1, result
    assert result["error"]["code"] == "UNSUPPORTED", result
    assert not (tmp_path / "a").exists()


def test_a_builtin_type_runs_by_its_name(tmp_path: Path) -> None:
    result = Executor([str(tmp_path)]).run(_lease(tmp_path, "MKDIR"), lambda _r: None)
    assert result["returncode"] == 0, result
    assert (tmp_path / "a").is_dir()
