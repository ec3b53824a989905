"""The simulated storage's URL language, the error taxonomy, and bad credentials."""

from __future__ import annotations

import json
import time
import zlib

import pytest

from haul.domain.errors import (
    ErrorCode,
    ErrorScope,
    TransferError,
    default_retryable,
)
from haul.storage import copy_file, open_storage
from haul.storage import dummy as dummy_backend
from haul.storage.checksums import checksum_bytes
from tests.servers.fixtures import StorageServer, free_port


def test_error_taxonomy() -> None:
    permanent = {
        "NOT_FOUND",
        "PERMISSION_DENIED",
        "EXISTS",
        "NO_CREDENTIAL",
        "UNSUPPORTED",
        "CANCELLED",
        "NOT_A_DIRECTORY",
        "IS_A_DIRECTORY",
    }
    transient = {"CONNECTION", "TIMEOUT", "LOST", "CHECKSUM_MISMATCH", "SIZE_MISMATCH", "INTERNAL"}
    assert all(not default_retryable(c) for c in permanent)
    assert all(default_retryable(c) for c in transient)
    assert {s.value for s in ErrorScope} == {"SOURCE", "DESTINATION", "TRANSFER"}
    err = TransferError(ErrorCode.TIMEOUT, "slow", scope=ErrorScope.SOURCE)
    assert json.loads(json.dumps(err.to_dict())) == {
        "code": "TIMEOUT",
        "scope": "SOURCE",
        "retryable": True,
        "message": "slow",
    }
    assert TransferError.from_dict(err.to_dict()).to_dict() == err.to_dict()
    assert TransferError("NOT_FOUND", retryable=True).retryable is True


def test_checksum_formats() -> None:
    assert checksum_bytes(b"", "adler32") == "00000001"
    assert checksum_bytes(b"abc", "adler32") == f"{zlib.adler32(b'abc'):08x}"
    assert checksum_bytes(b"abc", "md5") == "900150983cd24fb0d6963f7d28e17f72"
    assert checksum_bytes(b"abc", "sha256").startswith("ba7816bf")


def test_dummy_generated_tree() -> None:
    s = open_storage("dummy://gen/data?files=3&size=1000&depth=2&dirs=2")
    everything = list(s.list("/data", depth=0))
    files = [e for e in everything if not e.is_dir]
    assert len(files) == 3 * (1 + 2 + 4)
    assert len(everything) - len(files) == 2 + 4
    assert all(f.size == 1000 for f in files)
    assert [e.name for e in s.list("/data")] == [
        "dir-000",
        "dir-001",
        "file-00000.dat",
        "file-00001.dat",
        "file-00002.dat",
    ]
    assert s.stat("/").is_dir and s.stat("/data/dir-001/dir-000").is_dir
    assert not s.exists("/data/dir-001/dir-000/dir-000")
    first = s.open_read("/data/dir-000/file-00002.dat").read()
    assert len(first) == 1000
    assert s.open_read("/data/dir-000/file-00002.dat").read() == first


def test_dummy_writes_are_counted_and_checksummed() -> None:
    dummy_backend.reset("sink")
    src = open_storage("dummy://gen/?files=1&size=5000000")
    dst = open_storage("dummy://sink/out")
    result = copy_file(src, "/file-00000.dat", dst, "/out/a/b.dat", checksum="sha256")
    assert dst.stat("/out/a/b.dat").size == 5_000_000
    assert dst.checksum("/out/a/b.dat", "sha256") == result.checksum
    assert dummy_backend.stats("sink") == {"files_written": 1, "bytes_written": 5_000_000}
    again = open_storage("dummy://sink/")  # same name: same overlay in this process
    assert again.exists("/out/a/b.dat")


def test_dummy_renames_keep_bytes_and_refuse_an_existing_target() -> None:
    """A generated file renamed keeps its bytes and never comes back under its old
    name; the no-replace rename refuses any existing target, generated or written."""
    dummy_backend.reset("moves")
    s = open_storage("dummy://moves/?files=3&size=3000000&keep=1")
    generated = s.open_read("/file-00000.dat").read()
    stream, entry = s.open_sized("/file-00000.dat")  # type: ignore[attr-defined]
    assert entry.size == 3_000_000 and stream.read() == generated  # bigger than its buffer
    s.rename_noreplace("/file-00000.dat", "/moved.dat")  # type: ignore[attr-defined]
    assert not s.exists("/file-00000.dat") and s.open_read("/moved.dat").read() == generated
    for target in ("/file-00001.dat", "/moved.dat"):
        with pytest.raises(TransferError) as err:
            s.rename_noreplace("/file-00002.dat", target)  # type: ignore[attr-defined]
        assert err.value.code is ErrorCode.EXISTS
    with s.open_write("/written.dat") as w:
        w.write(b"kept bytes")
    s.rename("/written.dat", "/file-00001.dat")  # over a generated name: replaced
    assert s.open_read("/file-00001.dat").read() == b"kept bytes"
    assert not s.exists("/written.dat")
    s.rename("/file-00001.dat", "/again.dat")  # written over a generated name, moved on
    assert not s.exists("/file-00001.dat") and s.open_read("/again.dat").read() == b"kept bytes"
    assert s.stat("/file-00002.dat").size == 3_000_000


def test_dummy_injected_failures() -> None:
    s = open_storage("dummy://f/?files=2&size=10&fail_path=00001")
    with pytest.raises(TransferError) as err:
        s.open_read("/file-00001.dat")
    assert (err.value.code, err.value.retryable) == (ErrorCode.NOT_FOUND, False)
    assert s.open_read("/file-00000.dat").read() == s.open_read("/file-00000.dat").read()
    flaky = open_storage("dummy://f/?files=1&size=10&fail_rate=1")
    with pytest.raises(TransferError) as err:
        copy_file(flaky, "/file-00000.dat", open_storage("dummy://f2/"), "/x")
    assert (err.value.code, err.value.scope, err.value.retryable) == (
        ErrorCode.CONNECTION,
        ErrorScope.SOURCE,
        True,
    )


def test_dummy_speed() -> None:
    s = open_storage("dummy://speed/?files=1&size=400000&speed=2000000")
    start = time.monotonic()
    copy_file(s, "/file-00000.dat", open_storage("dummy://speed-out/"), "/x", verify=False)
    assert time.monotonic() - start >= 0.2


def test_unknown_scheme() -> None:
    with pytest.raises(TransferError) as err:
        open_storage("gopher://example/")
    assert err.value.code is ErrorCode.UNSUPPORTED


def test_sftp_bad_key_is_no_credential(sftp_server: StorageServer) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    stranger = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    pem = stranger.decode()
    with pytest.raises(TransferError) as err:
        open_storage(sftp_server.endpoint_url, {"username": "root", "private_key": pem})
    assert (err.value.code, err.value.retryable) == (ErrorCode.NO_CREDENTIAL, False)


def test_sftp_connection_refused_is_retryable() -> None:
    port = free_port()
    with pytest.raises(TransferError) as err:
        open_storage(f"sftp://127.0.0.1:{port}/", {"username": "x", "password": "y"})
    assert (err.value.code, err.value.retryable) == (ErrorCode.CONNECTION, True)


def test_webdav_bad_password_is_no_credential(webdav_server: StorageServer) -> None:
    s = open_storage(webdav_server.endpoint_url, {"username": "haul", "password": "wrong"})
    with pytest.raises(TransferError) as err:
        s.stat("/dav")
    assert (err.value.code, err.value.retryable) == (ErrorCode.NO_CREDENTIAL, False)
    anonymous = open_storage(webdav_server.endpoint_url)
    with pytest.raises(TransferError) as err:
        anonymous.stat("/dav")
    assert err.value.code is ErrorCode.NO_CREDENTIAL


def test_xrootd_server_down_is_retryable() -> None:
    s = open_storage(f"root://127.0.0.1:{free_port()}//tmp")
    with pytest.raises(TransferError) as err:
        s.stat("/tmp")
    assert err.value.code in (ErrorCode.CONNECTION, ErrorCode.TIMEOUT)
    assert err.value.retryable


def test_s3_missing_bucket(s3_server: StorageServer) -> None:
    s = open_storage(s3_server.endpoint_url, s3_server.credential)
    with pytest.raises(TransferError) as err:
        s.stat("/no-such-bucket/key")
    assert err.value.code is ErrorCode.NOT_FOUND
    assert [e.name for e in s.list("/")] != []
