"""Every backend against its real server: the Storage contract, byte for byte."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from haul.domain.errors import ErrorCode, TransferError
from haul.storage import Storage, open_storage
from tests.storage.conftest import Case, make_case


def write(storage: Storage, path: str, data: bytes) -> None:
    with storage.open_write(path) as stream:
        for start in range(0, len(data), 1 << 20):
            stream.write(data[start : start + (1 << 20)])


def read(storage: Storage, path: str) -> bytes:
    with storage.open_read(path) as stream:
        return stream.read()


def test_write_read_roundtrip(case: Case) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = f"{case.base}/blob.bin"
    write(case.storage, path, data)
    assert read(case.storage, path) == data
    entry = case.storage.stat(path)
    assert (entry.path, entry.name, entry.is_dir, entry.size) == (
        path,
        "blob.bin",
        False,
        len(data),
    )
    if case.local:
        assert case.local(path).read_bytes() == data


def test_zero_byte_file(case: Case) -> None:
    path = f"{case.base}/empty"
    write(case.storage, path, b"")
    assert case.storage.stat(path).size == 0
    assert read(case.storage, path) == b""
    assert case.storage.exists(path)
    if case.local:
        assert case.local(path).read_bytes() == b""


def test_name_with_space_and_unicode(case: Case) -> None:
    dirpath = f"{case.base}/dossier été"
    case.storage.mkdir(dirpath)
    path = f"{dirpath}/a file ✓ Ω.txt"
    write(case.storage, path, b"hello unicode")
    assert read(case.storage, path) == b"hello unicode"
    names = [e.name for e in case.storage.list(dirpath)]
    assert names == ["a file ✓ Ω.txt"]
    assert [e.path for e in case.storage.list(case.base)] == [dirpath]
    if case.local:
        assert case.local(path).read_bytes() == b"hello unicode"


def test_list_depth(case: Case) -> None:
    s, b = case.storage, case.base
    s.mkdir(f"{b}/sub/deeper")
    write(s, f"{b}/a.txt", b"a")
    write(s, f"{b}/sub/b.txt", b"bb")
    write(s, f"{b}/sub/deeper/c.txt", b"ccc")

    def listed(depth: int) -> dict[str, tuple[bool, int]]:
        return {e.path[len(b) + 1 :]: (e.is_dir, e.size) for e in s.list(b, depth=depth)}

    assert listed(1) == {"a.txt": (False, 1), "sub": (True, 0)}
    assert listed(2) == {
        "a.txt": (False, 1),
        "sub": (True, 0),
        "sub/b.txt": (False, 2),
        "sub/deeper": (True, 0),
    }
    everything = {**listed(2), "sub/deeper/c.txt": (False, 3)}
    assert listed(0) == everything
    assert listed(-1) == everything
    assert listed(5) == everything
    only = list(s.list(f"{b}/sub/b.txt", depth=3))
    assert [(e.path, e.name, e.is_dir, e.size) for e in only] == [
        (f"{b}/sub/b.txt", "b.txt", False, 2)
    ]


def test_mkdir_parents(case: Case) -> None:
    s, b = case.storage, case.base
    s.mkdir(f"{b}/x/y/z", parents=True)
    for sub in ("x", "x/y", "x/y/z"):
        assert s.stat(f"{b}/{sub}").is_dir
    s.mkdir(f"{b}/x/y/z")  # idempotent
    s.mkdir(f"{b}/x/single", parents=False)
    assert s.stat(f"{b}/x/single").is_dir
    with pytest.raises(TransferError) as err:
        s.mkdir(f"{b}/missing/child", parents=False)
    assert err.value.code is ErrorCode.NOT_FOUND
    if case.local:
        assert case.local(f"{b}/x/y/z").is_dir()


@pytest.mark.parametrize("name", ["file", "sftp", "root", "webdav", "s3"])
def test_mkdir_races_with_itself(name: str, request: pytest.FixtureRequest) -> None:
    """Elements of one job create the same directories at once, one connection
    per worker thread; the losers of that race must see "already there", not an
    error (Apache's mod_dav answers a losing MKCOL 403)."""
    case = make_case(request, name)
    if name == "file":
        storages = [case.storage] * 4
    else:
        server = request.getfixturevalue(
            {"sftp": "sftp_server", "root": "xrootd_server"}.get(name, f"{name}_server")
        )
        storages = [open_storage(server.endpoint_url, server.credential) for _ in range(4)]
    try:
        for n in range(5):
            target = f"{case.base}/race{n}/a/b"
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda s, t=target: s.mkdir(t, parents=True), storages))
            assert case.storage.stat(target).is_dir
    finally:
        if name != "file":
            for s in storages:
                s.close()


def test_remove(case: Case) -> None:
    s, b = case.storage, case.base
    s.mkdir(f"{b}/d")
    write(s, f"{b}/d/f", b"x")
    with pytest.raises(TransferError) as err:
        s.remove(f"{b}/d")
    assert err.value.code is ErrorCode.NOT_EMPTY
    assert not err.value.retryable
    s.remove(f"{b}/d/f")
    assert not s.exists(f"{b}/d/f")
    s.remove(f"{b}/d")
    assert not s.exists(f"{b}/d")
    with pytest.raises(TransferError) as err:
        s.remove(f"{b}/d")
    assert err.value.code is ErrorCode.NOT_FOUND
    assert list(s.list(b)) == []


def test_rename(case: Case) -> None:
    s, b = case.storage, case.base
    s.mkdir(f"{b}/to")
    write(s, f"{b}/from.dat", b"payload")
    s.rename(f"{b}/from.dat", f"{b}/to/moved.dat")
    assert not s.exists(f"{b}/from.dat")
    assert read(s, f"{b}/to/moved.dat") == b"payload"
    # Rename onto an existing file replaces it (the copy engine's overwrite).
    write(s, f"{b}/newer.dat", b"newer")
    s.rename(f"{b}/newer.dat", f"{b}/to/moved.dat")
    assert read(s, f"{b}/to/moved.dat") == b"newer"
    assert not s.exists(f"{b}/newer.dat")
    if case.local:
        assert case.local(f"{b}/to/moved.dat").read_bytes() == b"newer"


def test_missing_paths(case: Case) -> None:
    s, b = case.storage, case.base
    assert not s.exists(f"{b}/nope")
    for call in (lambda: s.stat(f"{b}/nope"), lambda: s.open_read(f"{b}/nope").read()):
        with pytest.raises(TransferError) as err:
            call()
        assert err.value.code is ErrorCode.NOT_FOUND
        assert err.value.retryable is False
    with pytest.raises(TransferError) as err:
        list(s.list(f"{b}/nope"))
    assert err.value.code is ErrorCode.NOT_FOUND


def test_relative_path_is_refused(case: Case) -> None:
    with pytest.raises(TransferError) as err:
        case.storage.stat("relative/path")
    assert err.value.code is ErrorCode.INVALID


def test_open_sized_gives_the_stream_and_its_stat(case: Case) -> None:
    """What the copy engine opens sources with: one call where the protocol allows."""
    s, b = case.storage, case.base
    data = os.urandom(70_000)
    write(s, f"{b}/sized.bin", data)
    s.mkdir(f"{b}/adir")
    write(s, f"{b}/adir/inside", b"x")  # object stores: a directory is a prefix
    stream, entry = s.open_sized(f"{b}/sized.bin")  # type: ignore[attr-defined]
    with stream:
        assert stream.read() == data
    assert (entry.size, entry.is_dir, entry.name) == (len(data), False, "sized.bin")
    assert entry.size == s.stat(f"{b}/sized.bin").size
    for path, code in ((f"{b}/adir", ErrorCode.IS_A_DIRECTORY), (f"{b}/nope", ErrorCode.NOT_FOUND)):
        with pytest.raises(TransferError) as err:
            s.open_sized(path)  # type: ignore[attr-defined]
        assert err.value.code is code, (path, err.value)
