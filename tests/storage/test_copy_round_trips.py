"""The storage calls one small-file copy makes, counted, and the guarantees kept while cutting them.

A counting proxy sits between the copy engine and real local storage, so a
change that adds a round trip per file shows here as a failing count.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from haul.domain.errors import ErrorCode, TransferError
from haul.storage import copy_file, noreplace
from haul.storage.local import LocalStorage
from haul.storage.temporaries import is_temp_name
from tests.storage.conftest import make_case
from tests.storage.test_backends import read, write


class Counting:
    """A Storage that counts the calls made through it, by name."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attr(*args, **kwargs)

        return counted


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    for i in range(3):
        (src / f"f{i}").write_bytes(os.urandom(65_536))
    return src, dst


def test_small_file_copies_make_only_the_calls_their_checks_need(tree: tuple[Path, Path]) -> None:
    src_dir, dst_dir = tree
    src, dst = Counting(LocalStorage()), Counting(LocalStorage())
    dirs: set[str] = set()
    copy_file(src, f"{src_dir}/f0", dst, f"{dst_dir}/sub/f0", dirs=dirs)
    # The first file of a directory: is it there, the directory's check and mkdir,
    # the temporary, its read-back (which also gives its size), a no-replace rename.
    assert dict(dst.calls) == {
        "exists": 2,
        "mkdir": 1,
        "open_write": 1,
        "checksum": 1,
        "open_read": 1,
        "rename_noreplace": 1,
    }
    # The source: opened with its stat (a local fstat, no second lookup), its checksum.
    assert dict(src.calls) == {"open_sized": 1, "checksum": 1}
    # Later files of the same directory skip the directory (was: 8 calls each).
    dst.calls.clear()
    copy_file(src, f"{src_dir}/f1", dst, f"{dst_dir}/sub/f1", dirs=dirs)
    assert sum(dst.calls.values()) == 5, dst.calls
    assert dst.calls["exists"] == 1 and "mkdir" not in dst.calls
    assert (dst_dir / "sub" / "f1").read_bytes() == (src_dir / "f1").read_bytes()
    assert sorted(p.name for p in (dst_dir / "sub").iterdir()) == ["f0", "f1"]


def test_without_read_back_the_temporary_is_stat_for_its_size(tree: tuple[Path, Path]) -> None:
    src_dir, dst_dir = tree
    dst = Counting(LocalStorage())
    copy_file(LocalStorage(), f"{src_dir}/f0", dst, f"{dst_dir}/f0", verify=False, dirs=set())
    assert dst.calls["stat"] == 1 and "open_read" not in dst.calls, dst.calls


def test_overwrite_off_still_refuses_an_existing_destination(tree: tuple[Path, Path]) -> None:
    src_dir, dst_dir = tree
    (dst_dir / "f0").write_bytes(b"theirs")
    dst = Counting(LocalStorage())
    with pytest.raises(TransferError) as err:
        copy_file(LocalStorage(), f"{src_dir}/f0", dst, f"{dst_dir}/f0", dirs=set())
    assert err.value.code is ErrorCode.EXISTS and not err.value.retryable
    assert (dst_dir / "f0").read_bytes() == b"theirs"
    assert "open_write" not in dst.calls  # refused before a byte moved
    assert os.listdir(dst_dir) == ["f0"]


def test_a_destination_that_appears_during_the_copy_is_never_replaced(
    tree: tuple[Path, Path],
) -> None:
    src_dir, dst_dir = tree
    final = dst_dir / "f0"

    def someone_else_writes(_progress: Any) -> None:
        if not final.exists():
            final.write_bytes(b"theirs")

    with pytest.raises(TransferError) as err:
        copy_file(
            LocalStorage(),
            f"{src_dir}/f0",
            LocalStorage(),
            str(final),
            progress=someone_else_writes,
            dirs=set(),
        )
    assert err.value.code is ErrorCode.EXISTS
    assert "appeared during the copy" in err.value.message
    assert final.read_bytes() == b"theirs"
    assert not [n for n in os.listdir(dst_dir) if is_temp_name(n)], os.listdir(dst_dir)


def test_a_remembered_directory_removed_behind_the_worker_is_made_again(
    tree: tuple[Path, Path],
) -> None:
    src_dir, dst_dir = tree
    dirs: set[str] = set()
    copy_file(LocalStorage(), f"{src_dir}/f0", LocalStorage(), f"{dst_dir}/a/f0", dirs=dirs)
    (dst_dir / "a" / "f0").unlink()
    (dst_dir / "a").rmdir()
    copy_file(LocalStorage(), f"{src_dir}/f1", LocalStorage(), f"{dst_dir}/a/f1", dirs=dirs)
    assert (dst_dir / "a" / "f1").read_bytes() == (src_dir / "f1").read_bytes()


def test_a_failure_forgets_the_directory(tree: tuple[Path, Path]) -> None:
    src_dir, dst_dir = tree
    dirs: set[str] = set()
    copy_file(LocalStorage(), f"{src_dir}/f0", LocalStorage(), f"{dst_dir}/b/f0", dirs=dirs)
    assert f"{dst_dir}/b" in dirs
    with pytest.raises(TransferError):
        copy_file(LocalStorage(), f"{src_dir}/missing", LocalStorage(), f"{dst_dir}/b/x", dirs=dirs)
    assert f"{dst_dir}/b" in dirs  # a source failure says nothing about the directory
    with pytest.raises(TransferError):
        copy_file(
            LocalStorage(), f"{src_dir}/f1", LocalStorage(), f"{dst_dir}/b/f0/x", dirs=dirs
        )  # b/f0 is a file: the destination side failed
    assert f"{dst_dir}/b/f0" not in dirs


@pytest.mark.parametrize("way", ["renameat2", "link"])
def test_local_noreplace_rename_refuses_an_existing_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    if way == "link":
        monkeypatch.setattr(noreplace, "_RENAMEAT2", None)
    storage = LocalStorage()
    (tmp_path / "a").write_bytes(b"mine")
    (tmp_path / "b").write_bytes(b"theirs")
    with pytest.raises(TransferError) as err:
        storage.rename_noreplace(str(tmp_path / "a"), str(tmp_path / "b"))
    assert err.value.code is ErrorCode.EXISTS
    assert (tmp_path / "a").read_bytes() == b"mine"
    assert (tmp_path / "b").read_bytes() == b"theirs"
    storage.rename_noreplace(str(tmp_path / "a"), str(tmp_path / "c"))
    assert (tmp_path / "c").read_bytes() == b"mine" and not (tmp_path / "a").exists()
    assert storage.atomic_noreplace


@pytest.mark.parametrize("backend", ["file", "webdav", "dummy"])
def test_noreplace_rename_on_backends(request: pytest.FixtureRequest, backend: str) -> None:
    """Atomic where the protocol has it (file, WebDAV MOVE Overwrite: F; dummy under its lock)."""
    case = make_case(request, backend)
    storage, base = case.storage, case.base
    write(storage, f"{base}/a", b"mine")
    write(storage, f"{base}/b", b"theirs")
    with pytest.raises(TransferError) as err:
        storage.rename_noreplace(f"{base}/a", f"{base}/b")
    assert err.value.code is ErrorCode.EXISTS
    assert read(storage, f"{base}/b") == b"theirs"
    storage.rename_noreplace(f"{base}/a", f"{base}/c")
    assert read(storage, f"{base}/c") == b"mine" and not storage.exists(f"{base}/a")
    assert storage.atomic_noreplace
