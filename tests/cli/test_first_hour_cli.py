"""The CLI's manners and failure reports from issue 14, as subprocesses against a live haul.

Job ids alone on stdout, errors next to the files that failed, retry with
new options, remove that asks first, and control verbs that say what will
happen.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import haul.client as haul
from tests.cli.test_cli import (  # noqa: F401 - the fixtures this module shares
    Run,
    as_json,
    config,
    haul_cli,
    live,
    logged_in,
    sites,
    slow,
    tree,
    user,
    user_ctx,
)
from tests.client.live import Live
from tests.harness import User, until


def test_submission_prints_the_job_id_alone_on_stdout(
    sites: dict[str, str], haul_cli: Run, tree: dict[str, Path]  # noqa: F811
) -> None:
    proc = haul_cli("copy", f"{sites['src']}:/a.txt", f"{sites['dst']}:/id-only.txt")
    assert proc.stdout.strip().isdigit(), proc.stdout
    assert f"job {proc.stdout.strip()} submitted: COPY" in proc.stderr
    haul_cli("watch", proc.stdout.strip())
    assert (tree["dst"] / "id-only.txt").read_text() == "hello\n"


def test_a_failure_is_shown_where_the_files_are_and_retry_fixes_it(
    live: Live, user: User, sites: dict[str, str], haul_cli: Run,  # noqa: F811
    tree: dict[str, Path],  # noqa: F811
) -> None:
    (tree["dst"] / "taken.txt").write_text("old\n")
    failed = as_json(haul_cli("copy", f"{sites['src']}:/a.txt", f"{sites['dst']}:/taken.txt",
                              "--max-tries", "1", "--wait", "--json", code=1))
    job_id = failed["id"]
    assert (failed["status"], failed["num_files"], failed["files_failed"]) == ("FAILED", 1, 1)
    assert failed["num_elements"] == 2  # pdm's counter still counts the LIST

    element = as_json(haul_cli("status", f"{job_id}.1", "--json"))
    assert element["error"]["code"] == "EXISTS" and element["error"]["message"]
    shown = haul_cli("status", f"{job_id}.1").stdout
    # The worker's message names the place as the user wrote it; the CLI does not repeat it.
    assert f"error        EXISTS (DESTINATION): {sites['dst']}:/taken.txt (resolved " in shown
    assert shown.count(f"{sites['dst']}:/taken.txt") == 1, shown
    page = haul_cli("status", str(job_id)).stdout
    # Paths as the user wrote them (SITE:PATH), the worker's resolved path after.
    assert "failed, by error:" in page, page
    assert f"1 x EXISTS: {sites['dst']}:/taken.txt (resolved " in page, page
    assert str(tree["dst"] / "taken.txt") in page
    jobs = haul_cli("jobs").stdout
    # The table may wrap the cell on a narrow terminal: its words, in order.
    row = " ".join(w for line in jobs.splitlines() for w in line.split() if w not in "┃│")
    assert "FAILED" in row and "EXISTS" in row and "x1" in row, jobs
    with user_ctx(live, user) as ctx:
        groups = haul.get_job_errors(ctx, job_id)
    assert groups == [{"code": "EXISTS", "count": 1, "example_path": "/a.txt",
                       "example_dst_path": "/taken.txt", "example_element": 1,
                       "scope": "DESTINATION", "message": groups[0]["message"]}]

    retried = haul_cli("retry", str(job_id), "--overwrite")
    assert f"job {job_id} retried" in retried.stdout
    haul_cli("watch", str(job_id))
    assert (tree["dst"] / "taken.txt").read_text() == "hello\n"
    with user_ctx(live, user) as ctx:
        job = haul.get_job(ctx, job_id)
    assert job["extra_opts"]["overwrite"] is True
    assert (job["status"], job["files_done"], job["files_failed"]) == ("DONE", 1, 0)


def test_remove_asks_first_and_dry_run_removes_nothing(
    sites: dict[str, str], haul_cli: Run, tree: dict[str, Path]  # noqa: F811
) -> None:
    doomed = tree["dst"] / f"doomed-{uuid.uuid4().hex[:6]}"
    (doomed / "inner").mkdir(parents=True)
    (doomed / "inner" / "f.txt").write_text("12345")
    target = f"{sites['dst']}:/{doomed.name}"

    refused = haul_cli("remove", target, code=2)
    assert "--yes" in refused.stderr and refused.stdout == ""
    said_no = haul_cli("remove", target, input="n\n", code=2)  # stdin is no terminal
    assert "--yes" in said_no.stderr
    dry = haul_cli("remove", target, "--dry-run")
    assert "f.txt" in dry.stdout and "nothing was removed" in dry.stdout, dry.stdout
    assert "1 files and 1 directories" in dry.stdout
    as_json_dry: dict[str, Any] = as_json(haul_cli("remove", target, "--dry-run", "--json"))
    assert (as_json_dry["files"], as_json_dry["bytes"]) == (1, 5)
    assert doomed.exists()

    haul_cli("remove", target, "--yes", "--wait")
    assert not doomed.exists()


def test_cancel_says_what_will_happen(
    live: Live, user: User, slow: dict[str, str], haul_cli: Run  # noqa: F811
) -> None:
    job_id = haul_cli("copy", f"{slow['slow']}:/", f"{slow['sink']}:/say").stdout.strip()
    with user_ctx(live, user) as ctx:
        until(lambda: haul.get_job(ctx, int(job_id))["num_running"], what="a running element")
        assert haul.get_job(ctx, int(job_id))["status"] == "RUNNING"
    said = haul_cli("cancel", job_id).stdout
    assert f"job {job_id} cancelling:" in said and "will stop at their next heartbeat" in said
    assert "now RUNNING" not in said
    haul_cli("watch", job_id, code=1)


def test_help_lines_read_like_shell_usage(haul_cli: Run) -> None:  # noqa: F811
    shown = haul_cli("copy", "--help").stdout
    assert "copy [OPTIONS] SRC DST" in shown and "{SRC}" not in shown
    assert "<bool>" not in shown and "--wait" in shown
    assert "<int range>" in shown  # options with values keep their type


def test_manners_of_list_jobs_and_a_missing_server(
    sites: dict[str, str], haul_cli: Run, tree: dict[str, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    listed = haul_cli("list", f"{sites['src']}:", "--depth", "0").stdout
    assert f"{sites['src']}:~ (the site's default path):" in listed, listed
    assert "123.5 kB" in listed and "123456" not in listed  # sub/b.bin, human by default
    exact = haul_cli("list", f"{sites['src']}:/sub", "--bytes").stdout
    assert "123456" in exact and f"{sites['src']}:/sub:" in exact, exact
    table = haul_cli("sites").stdout
    assert "SCHEMES" in table and "file" in table and "FILE" not in table, table
    refused = haul_cli("jobs", "--all", code=1)
    assert "--all: only admins" in refused.stderr and "user_id" not in refused.stderr
    from tests.cli.test_cli import runner
    nowhere = runner(tmp_path / "no-login")("jobs", code=2)
    assert "--server" in nowhere.stderr and "pass one" not in nowhere.stderr


def test_a_trailing_slash_copies_into_a_directory(
    sites: dict[str, str], haul_cli: Run, tree: dict[str, Path]  # noqa: F811
) -> None:
    into = tree["dst"] / f"into-{uuid.uuid4().hex[:6]}"
    into.mkdir()
    haul_cli("copy", f"{sites['src']}:/a.txt", f"{sites['dst']}:/{into.name}/", "--wait")
    haul_cli("copy", f"{sites['src']}:/sub", f"{sites['dst']}:/{into.name}/", "--wait")
    assert (into / "a.txt").read_text() == "hello\n"
    assert (into / "sub" / "b.bin").stat().st_size == 123_456
    # Without the slash the destination names the copy itself.
    haul_cli("copy", f"{sites['src']}:/a.txt", f"{sites['dst']}:/{into.name}/renamed.txt",
             "--wait")
    assert (into / "renamed.txt").read_text() == "hello\n"
    assert haul.into_directory("/x/run1/", "/d/") == "/d/run1"
    assert haul.into_directory("~", "/d/") == "/d/"


def test_a_missing_source_is_named_as_the_user_wrote_it(
    sites: dict[str, str], haul_cli: Run, tree: dict[str, Path]  # noqa: F811
) -> None:
    proc = haul_cli("copy", f"{sites['src']}:/not-there", f"{sites['dst']}:/x", "--max-tries",
                    "1", "--wait", code=1)
    error = next(line for line in proc.stderr.splitlines() if line.startswith("error:"))
    assert f"NOT_FOUND: {sites['src']}:/not-there (resolved " in error, error
    assert str(tree["src"] / "not-there") in error  # the resolved path follows
