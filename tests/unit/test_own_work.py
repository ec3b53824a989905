"""The own-earlier-work rule and the temporary sweep, on real files with the real Executor.

Leases are written out by hand (what the server sends), so each case can say
exactly which attempt this is and when the job was submitted.
"""

from __future__ import annotations

import os
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from haul.storage.temporaries import is_temp_name, temp_name_for
from haul.worker.operations import Executor, Running
from haul.worker.own_work import CLOCK_SLACK_SECONDS


def _lease(
    root: Path, kind: str, src: str, dst: str | None, *, seq: int, submitted: datetime
) -> Running:
    site = {"site_id": 1, "site_name": "local", "def_path": "/", "endpoints": [f"file://{root}"]}
    job = {
        "id": 7,
        "type": kind,
        "protocol": "FILE",
        "extra_opts": {},
        "submitted": submitted.isoformat(),
        "src_site": site,
        "dst_site": site,
    }
    element = {
        "id": 3,
        "job_id": 7,
        "type": kind,
        "src_filepath": src,
        "dst_filepath": dst,
        "attempts": seq,
        "attempt_seq": seq,
        "token": "t.3",
        "mode": None,
    }
    return Running(job=job, element=element)


def _run(root: Path, run: Running) -> dict[str, Any]:
    return Executor([str(root)]).run(run, lambda _r: None)


def _files(tmp_path: Path, dst_content: bytes, dst_age: float = 0.0) -> tuple[Path, Path]:
    (tmp_path / "src.dat").write_bytes(b"payload" * 100)
    dst = tmp_path / "dst.dat"
    dst.write_bytes(dst_content)
    if dst_age:
        then = time.time() - dst_age
        os.utime(dst, (then, then))
    return tmp_path / "src.dat", dst


def test_a_retry_finds_its_own_finished_copy_done_and_verified(tmp_path: Path) -> None:
    _files(tmp_path, b"payload" * 100)
    submitted = datetime.now(UTC) - timedelta(minutes=1)
    result = _run(
        tmp_path, _lease(tmp_path, "COPY", "/src.dat", "/dst.dat", seq=1, submitted=submitted)
    )
    assert result["returncode"] == 0, result
    want = f"{zlib.adler32(b'payload' * 100):08x}"
    assert result["checksum"] == f"adler32:{want}"
    assert "already there, verified" in result["log"]


def test_a_retry_racing_its_earlier_attempt_to_publish_ends_done(tmp_path: Path) -> None:
    """A lease lost while its attempt still ran: the earlier attempt publishes
    the file while the retry copies, and the retry's no-replace publish finds it."""
    payload = os.urandom(1 << 20) * 8
    (tmp_path / "src.dat").write_bytes(payload)
    dst = tmp_path / "dst.dat"
    submitted = datetime.now(UTC) - timedelta(minutes=1)

    def earlier_attempt_publishes(_run: Running) -> None:
        if not dst.exists():
            dst.write_bytes(payload)

    run = _lease(tmp_path, "COPY", "/src.dat", "/dst.dat", seq=1, submitted=submitted)
    result = Executor([str(tmp_path)]).run(run, earlier_attempt_publishes)
    assert dst.exists()
    assert result["returncode"] == 0, result
    assert "already there, verified" in result["log"]
    assert result["checksum"] == f"adler32:{zlib.adler32(payload):08x}"
    assert dst.read_bytes() == payload


def test_a_first_attempt_racing_another_writer_stays_exists(tmp_path: Path) -> None:
    payload = os.urandom(1 << 20) * 8
    (tmp_path / "src.dat").write_bytes(payload)
    dst = tmp_path / "dst.dat"

    def someone_else_writes(_run: Running) -> None:
        if not dst.exists():
            dst.write_bytes(b"theirs")

    run = _lease(tmp_path, "COPY", "/src.dat", "/dst.dat", seq=0, submitted=datetime.now(UTC))
    result = Executor([str(tmp_path)]).run(run, someone_else_writes)
    assert result["error"]["code"] == "EXISTS", result
    assert dst.read_bytes() == b"theirs"


def test_a_destination_older_than_the_job_stays_exists(tmp_path: Path) -> None:
    _, dst = _files(tmp_path, b"payload" * 100, dst_age=3600)
    submitted = datetime.now(UTC) - timedelta(seconds=CLOCK_SLACK_SECONDS + 60)
    result = _run(
        tmp_path, _lease(tmp_path, "COPY", "/src.dat", "/dst.dat", seq=1, submitted=submitted)
    )
    assert result["returncode"] == 1
    assert result["error"]["code"] == "EXISTS", result
    assert dst.read_bytes() == b"payload" * 100


def test_a_destination_that_differs_stays_exists(tmp_path: Path) -> None:
    _, dst = _files(tmp_path, b"PAYLOAD" * 100)  # same size, other bytes, fresh mtime
    submitted = datetime.now(UTC) - timedelta(minutes=1)
    result = _run(
        tmp_path, _lease(tmp_path, "COPY", "/src.dat", "/dst.dat", seq=2, submitted=submitted)
    )
    assert result["error"]["code"] == "EXISTS", result
    assert dst.read_bytes() == b"PAYLOAD" * 100


def test_a_first_attempt_never_trusts_an_existing_destination(tmp_path: Path) -> None:
    _files(tmp_path, b"payload" * 100)
    submitted = datetime.now(UTC) - timedelta(minutes=1)
    result = _run(
        tmp_path, _lease(tmp_path, "COPY", "/src.dat", "/dst.dat", seq=0, submitted=submitted)
    )
    assert result["error"]["code"] == "EXISTS", result


def test_a_retry_sweeps_the_temporaries_of_earlier_attempts(tmp_path: Path) -> None:
    (tmp_path / "src.dat").write_bytes(b"x" * 10)
    dst = str(tmp_path / "dst.dat")
    left = [temp_name_for(dst, f"7-3-{n}") for n in (0, 1)]
    other = temp_name_for(dst, "7-4-0")  # another element's: not ours to touch
    for path in [*left, other]:
        Path(path).write_bytes(b"partial")
    submitted = datetime.now(UTC) - timedelta(minutes=1)
    result = _run(
        tmp_path, _lease(tmp_path, "COPY", "/src.dat", "/dst.dat", seq=2, submitted=submitted)
    )
    assert result["returncode"] == 0, result
    assert sorted(p.name for p in tmp_path.iterdir() if is_temp_name(p.name)) == [Path(other).name]
    assert Path(dst).read_bytes() == b"x" * 10


def test_retried_rename_remove_and_mkdir_recognise_work_already_done(tmp_path: Path) -> None:
    (tmp_path / "moved.txt").write_text("m")
    (tmp_path / "made").mkdir()
    now = datetime.now(UTC)
    renamed = _run(
        tmp_path, _lease(tmp_path, "RENAME", "/gone.txt", "/moved.txt", seq=1, submitted=now)
    )
    assert renamed["returncode"] == 0, renamed
    assert "earlier attempt renamed it" in renamed["log"]
    first = _run(
        tmp_path, _lease(tmp_path, "RENAME", "/gone.txt", "/moved.txt", seq=0, submitted=now)
    )
    assert first["error"]["code"] == "EXISTS", first  # a first attempt: somebody else's file
    removed = _run(tmp_path, _lease(tmp_path, "REMOVE", "/gone.txt", None, seq=1, submitted=now))
    assert removed["returncode"] == 0 and "already gone" in removed["log"]
    made = _run(tmp_path, _lease(tmp_path, "MKDIR", "/made", None, seq=1, submitted=now))
    assert made["returncode"] == 0, made
