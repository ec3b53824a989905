"""Backends that know symbolic links report them as links and never go through them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from haul.domain.errors import ErrorCode, TransferError
from haul.storage.local import LocalStorage
from tests.storage.conftest import Case, make_case
from tests.storage.test_backends import read, write


@pytest.fixture(params=["file", "sftp"])
def linked(request: pytest.FixtureRequest) -> Case:
    return make_case(request, request.param)


def test_links_are_listed_as_links_and_removed_themselves(linked: Case) -> None:
    assert linked.local is not None
    s, base = linked.storage, linked.base
    s.mkdir(f"{base}/team")
    write(s, f"{base}/team/keep.txt", b"keep")
    s.mkdir(f"{base}/proj")
    os.symlink(linked.local(f"{base}/team"), linked.local(f"{base}/proj/shared"))
    entries = {e.name: e for e in s.list(f"{base}/proj", depth=0)}
    assert list(entries) == ["shared"], "the walk went through the link"
    link = entries["shared"]
    assert (link.is_link, link.is_dir) == (True, False)
    assert link.target == str(linked.local(f"{base}/team"))
    assert s.lstat(f"{base}/proj/shared").is_link
    assert s.stat(f"{base}/proj/shared").is_dir  # stat follows, lstat does not
    s.remove(f"{base}/proj/shared")
    assert not s.exists(f"{base}/proj/shared")
    assert read(s, f"{base}/team/keep.txt") == b"keep"


def test_confined_local_storage_refuses_what_resolves_outside(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret").write_text("s")
    (root / "in.txt").write_text("i")
    (root / "leak").symlink_to(outside / "secret")
    (root / "door").symlink_to(outside)
    (root / ".x.haul-part-1-1-0").symlink_to(outside / "planted")
    s = LocalStorage([str(root)])
    refused = [
        lambda: s.open_read(f"{root}/leak"),
        lambda: s.open_write(f"{root}/door/new"),
        lambda: s.mkdir(f"{root}/door/sub"),
        lambda: s.rename(f"{root}/in.txt", f"{root}/door/in.txt"),
        lambda: s.remove(f"{root}/door/secret"),
        lambda: s.open_write(f"{root}/.x.haul-part-1-1-0"),
        lambda: list(s.list(f"{root}/door")),
    ]
    for attempt in refused:
        with pytest.raises(TransferError) as err:
            attempt()
        assert err.value.code is ErrorCode.PERMISSION_DENIED, err.value
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    s.remove(f"{root}/leak")  # the link itself is inside: removing it is fine
    assert (outside / "secret").exists()


@pytest.fixture(params=["file", "sftp"])
def named(request: pytest.FixtureRequest) -> Case:
    return make_case(request, request.param)


def test_a_name_that_is_not_utf8_is_listed_without_failing_its_directory(named: Case) -> None:
    """Names are bytes on POSIX storage; one bad name must not fail the whole listing
    (the worker then skips it per entry, docs/storage.md)."""
    assert named.local is not None
    s, base = named.storage, named.base
    s.mkdir(f"{base}/mixed")
    write(s, f"{base}/mixed/ok.txt", b"ok")
    os.makedirs(os.fsencode(named.local(f"{base}/mixed")), exist_ok=True)
    with open(os.fsencode(named.local(f"{base}/mixed")) + b"/caf\xe9.txt", "wb") as f:
        f.write(b"latin-1")
    names = sorted(e.name for e in s.list(f"{base}/mixed", depth=0))
    assert names[-1] == "ok.txt" and len(names) == 2
    assert names[0].encode("utf-8", "surrogateescape") == b"caf\xe9.txt"
