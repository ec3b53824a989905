"""`haul copy --files` / `haul remove --files` and the client's file-list jobs (issue 13).

Subprocesses of the real CLI and the Python client against a live server and
worker, on real files.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import haul.client as haul
from tests.cli.test_cli import Run, as_json, runner
from tests.client.live import Live, live_haul


@pytest.fixture(scope="module")
def live(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with live_haul(db_url, tmp_path_factory.mktemp("cli-files")) as lv:
        yield lv


@pytest.fixture(scope="module")
def setup(live: Live, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    user = live.new_user()
    run = runner(tmp_path_factory.mktemp("config") / "haul")
    run("login", "--server", live.url, "--token", user.token)
    tag = uuid.uuid4().hex[:6]
    src, dst = live.root / f"fl-src-{tag}", live.root / f"fl-dst-{tag}"
    src.mkdir()
    dst.mkdir()
    names = {}
    for key, path in (("src", src), ("dst", dst)):
        names[key] = f"{key}-{uuid.uuid4().hex[:6]}"
        run("site", "add", names[key], path.as_uri())
    return {"run": run, "src": src, "dst": dst, "names": names, "user": user}


def test_copy_files_from_a_tsv_with_checksums(setup: dict[str, Any], tmp_path: Path) -> None:
    run: Run = setup["run"]
    src, dst, names = setup["src"], setup["dst"], setup["names"]
    for name in ("one.txt", "two words.txt", "three.txt"):
        (src / name).write_text(name * 10)
    good = "md5:" + hashlib.md5((src / "three.txt").read_bytes()).hexdigest()
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text(
        "# src\tdst\tchecksum\n"
        "/one.txt\t/a/one.txt\n"
        "\n"
        "/two words.txt\t/b/two words.txt\n"
        f"/three.txt\t/b/three.txt\t{good}\n"
    )
    done = as_json(run("copy", "--files", str(pairs), names["src"], names["dst"] + ":",
                       "--wait", "--json"))
    assert done["status"] == "DONE", done
    assert (dst / "a" / "one.txt").read_text() == "one.txt" * 10
    assert (dst / "b" / "two words.txt").read_text() == "two words.txt" * 10
    assert (dst / "b" / "three.txt").read_text() == "three.txt" * 10
    # A wrong checksum fails that file, and the CLI says so.
    (tmp_path / "bad.tsv").write_text(f"/one.txt\t/c/one.txt\tadler32:{'0' * 7}1\n")
    proc = run("copy", "--files", str(tmp_path / "bad.tsv"), names["src"], names["dst"],
               "--wait", code=1)
    assert "CHECKSUM_MISMATCH" in proc.stderr, proc.stderr
    assert not (dst / "c" / "one.txt").exists()


def test_file_list_usage_errors_name_the_line(setup: dict[str, Any], tmp_path: Path) -> None:
    run: Run = setup["run"]
    names = setup["names"]
    (tmp_path / "bad.tsv").write_text("/a\t/b\n/only-one-column\n")
    proc = run("copy", "--files", str(tmp_path / "bad.tsv"), names["src"], names["dst"], code=2)
    assert "line 2" in proc.stderr and "SRC<TAB>DST" in proc.stderr, proc.stderr
    proc = run("copy", "--files", str(tmp_path / "bad.tsv"), names["src"] + ":/x", names["dst"],
               code=2)
    assert "give the site alone" in proc.stderr, proc.stderr
    (tmp_path / "empty").write_text("# nothing\n")
    proc = run("remove", "--files", str(tmp_path / "empty"), names["dst"], code=2)
    assert "lists no paths" in proc.stderr


def test_remove_files_from_stdin(setup: dict[str, Any]) -> None:
    run: Run = setup["run"]
    dst, names = setup["dst"], setup["names"]
    (dst / "gone").mkdir()
    (dst / "x.txt").write_text("x")
    done = as_json(run("remove", "--files", "-", names["dst"], "--yes", "--wait", "--json",
                       input="/x.txt\n/gone\n"))
    assert done["status"] == "DONE", done
    assert not (dst / "x.txt").exists() and not (dst / "gone").exists()


def test_the_client_builds_and_submits_file_lists(live: Live, setup: dict[str, Any]) -> None:
    src, dst = setup["src"], setup["dst"]
    (src / "c1.txt").write_text("c1")
    ctx = haul.Context(live.url, token=setup["user"].token)
    sites = {s["site_name"]: s["site_id"] for s in haul.list_sites(ctx)}
    body = haul.new_copy_files(
        sites[setup["names"]["src"]], sites[setup["names"]["dst"]],
        [("/c1.txt", "/client/c1.txt"),
         {"src_filepath": "/c1.txt", "dst_filepath": "/client/again.txt", "filesize": 2}],
        priority=2,
    )
    assert "src_filepath" not in body and len(body["files"]) == 2
    job = haul.wait(ctx, haul.submit(ctx, body), timeout=60)
    assert job["status"] == "DONE", job
    assert (dst / "client" / "again.txt").read_text() == "c1"
    rm = haul.new_remove_files(sites[setup["names"]["dst"]], ["/client/c1.txt"])
    assert haul.wait(ctx, haul.submit(ctx, rm), timeout=60)["status"] == "DONE"
    assert not (dst / "client" / "c1.txt").exists()
    with pytest.raises(ValueError, match=r"files\[0\]"):
        haul.new_copy_files(1, 2, ["/just-a-path"])
