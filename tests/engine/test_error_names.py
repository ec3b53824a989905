"""Errors name paths as the user wrote them (issue 14, point 17).

A site whose endpoint has a path of its own (and a default path for relative
names) resolves what the user typed to another absolute path on the storage.
A failed element's error, in its JSON and in `haul status`, names the
``SITE:PATH`` that was submitted, with the resolved path after it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engine.helpers import (
    WorkerProcess,
    elements,
    fresh_server,
    running_workers,
    submit,
    wait_job,
)
from tests.harness import ServerProcess, User, run_cli


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with fresh_server("sqlite", tmp_path_factory.mktemp("names")) as srv:
        yield srv


@pytest.fixture(scope="module")
def workers(
    server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[WorkerProcess]]:
    with running_workers(server, tmp_path_factory.mktemp("names-logs")) as procs:
        yield procs


def _failed_list(user: User, site: int, path: str, workers: list[WorkerProcess]) -> dict:
    with user.client() as c:
        job_id = submit(
            c,
            type="COPY",
            src_siteid=site,
            src_filepath=path,
            dst_siteid=site,
            dst_filepath="/copy",
            max_tries=1,
        )
        view = wait_job(c, job_id, timeout=60, workers=workers)
        assert view["status"] == "FAILED", view
        (first,) = elements(c, job_id)
        assert first["status"] == "FAILED", first
        return first


def test_a_missing_path_is_named_as_submitted_with_the_resolved_path_after_it(
    server: ServerProcess, workers: list[WorkerProcess]
) -> None:
    user = server.new_user()
    site = user.site(name="data", endpoints=["dummy://names/srv/export?files=1"])
    first = _failed_list(user, site, "/data", workers)
    error = first["error"]
    assert error["code"] == "NOT_FOUND", error
    assert error["message"].startswith("data:/data (resolved /srv/export/data)"), error
    # The bare resolved path no longer leads the message.
    assert not error["message"].startswith("/srv"), error
    # `haul status JOB.0` shows the same words.
    env = {"HAUL_SERVER": server.url, "HAUL_TOKEN": user.token, "NO_COLOR": "1"}
    # (read across the lines the terminal width wraps)
    shown = " ".join(run_cli("status", f"{first['job_id']}.0", env=env).stdout.split())
    assert "NOT_FOUND" in shown and "data:/data (resolved /srv/export/data)" in shown, shown


def test_a_relative_path_is_named_as_written_under_the_default_path(
    server: ServerProcess, workers: list[WorkerProcess]
) -> None:
    user = server.new_user()
    site = user.site(
        name="home", endpoints=["dummy://names/srv/users?files=1"], def_path="/alice"
    )
    first = _failed_list(user, site, "results", workers)
    message = first["error"]["message"]
    assert message.startswith("home:results (resolved /srv/users/alice/results)"), message


def test_the_log_names_places_as_submitted(
    server: ServerProcess, workers: list[WorkerProcess]
) -> None:
    user = server.new_user()
    site = user.site(name="logs", endpoints=["dummy://names-log/srv/x?files=1&size=10"])
    with user.client() as c:
        job_id = submit(
            c,
            type="COPY",
            src_siteid=site,
            src_filepath="/file-00000.dat",
            dst_siteid=site,
            dst_filepath="/copied.dat",
        )
        assert wait_job(c, job_id, timeout=60, workers=workers)["status"] == "DONE"
        r = c.get(f"/workqueue/api/v1.0/jobs/{job_id}/elements/1/output/1")
        assert r.status_code == 200, r.text
    log = r.json()["log"]
    assert (
        "copy logs:/file-00000.dat (resolved /srv/x/file-00000.dat) -> "
        "logs:/copied.dat (resolved /srv/x/copied.dat)"
    ) in log, log
