"""Which leases carry their LIST's size to the copy engine (Running.listed_size)."""

from __future__ import annotations

from typing import Any

from haul.worker.running import Running


def _run(job: dict[str, Any] | None = None, **element: Any) -> Running:
    e = {"id": 2, "job_id": 1, "type": "COPY", "size": 65536, "mode": None, "sources": None}
    return Running(job={"id": 1, "src_filepath": "data", **(job or {})}, element={**e, **element})  # type: ignore[typeddict-item]


def test_a_listed_file_of_a_path_job_carries_its_size() -> None:
    assert _run().listed_size == 65536


def test_no_size_where_no_list_measured_the_file() -> None:
    assert _run({"src_filepath": None}).listed_size is None  # the job named its files
    assert _run(mode="overwrite").listed_size is None  # a recover check's copy
    assert _run(sources=[{"siteid": 3, "filepath": "x"}]).listed_size is None  # replicas
    assert _run(size=0).listed_size is None
