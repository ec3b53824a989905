"""The copy engine between real storages: bytes, checksums, and its guarantees."""

from __future__ import annotations

import io
import os
import zlib
from typing import Any, BinaryIO

import pytest

from haul.domain.errors import ErrorCode, ErrorScope, TransferError
from haul.storage import Progress, Storage, copy_file
from haul.storage.temporaries import is_temp_name
from tests.storage.conftest import BACKENDS, Case, make_case
from tests.storage.test_backends import read, write

CHAIN = ["file", "sftp", "root", "webdav", "s3", "file"]
BIG = 9 * 1024 * 1024 + 123  # past S3's 8 MiB part size, not a multiple of any chunk


def leftovers(storage: Storage, directory: str) -> list[str]:
    return [e.name for e in storage.list(directory, depth=0) if is_temp_name(e.path)]


@pytest.fixture
def pair(request: pytest.FixtureRequest) -> tuple[Case, Case]:
    src_name, dst_name = request.param
    return make_case(request, src_name), make_case(request, dst_name)


@pytest.mark.parametrize(
    "pair", list(zip(CHAIN, CHAIN[1:], strict=False)), indirect=True, ids=lambda p: "->".join(p)
)
def test_chain_copy_multi_megabyte(pair: tuple[Case, Case]) -> None:
    src, dst = pair
    data = os.urandom(BIG)
    write(src.storage, f"{src.base}/big.dat", data)
    reports: list[Progress] = []
    result = copy_file(
        src.storage,
        f"{src.base}/big.dat",
        dst.storage,
        f"{dst.base}/sub/dir/big.dat",
        progress=reports.append,
    )
    assert result.bytes == len(data)
    assert result.algorithm == "adler32"
    assert result.checksum == f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"
    assert read(dst.storage, f"{dst.base}/sub/dir/big.dat") == data
    if dst.local:
        assert dst.local(f"{dst.base}/sub/dir/big.dat").read_bytes() == data
    assert [e.name for e in dst.storage.list(f"{dst.base}/sub/dir")] == ["big.dat"]
    assert reports and reports[-1].transferred == len(data)
    assert all(r.elapsed >= 0 and r.average >= 0 for r in reports)


@pytest.mark.parametrize(
    "pair",
    [(s, d) for s in BACKENDS for d in BACKENDS],
    indirect=True,
    ids=lambda p: "->".join(p),
)
def test_every_pair_small_file(pair: tuple[Case, Case]) -> None:
    src, dst = pair
    data = os.urandom(100_003)
    write(src.storage, f"{src.base}/s m a l l ✓.bin", data)
    result = copy_file(
        src.storage,
        f"{src.base}/s m a l l ✓.bin",
        dst.storage,
        f"{dst.base}/copy ✓.bin",
        checksum="md5",
        chunk_size=64 * 1024,
    )
    assert result.bytes == len(data)
    assert read(dst.storage, f"{dst.base}/copy ✓.bin") == data
    assert leftovers(dst.storage, dst.base) == []


@pytest.mark.parametrize("algorithm", ["adler32", "md5", "sha256", "none"])
@pytest.mark.parametrize(
    "pair", [("root", "file"), ("file", "root")], indirect=True, ids=lambda p: "->".join(p)
)
def test_checksum_algorithms(pair: tuple[Case, Case], algorithm: str) -> None:
    """root:// reports adler32 itself: used for the source check and the
    destination check alike; the other algorithms fall back to a re-read."""
    import hashlib

    src, dst = pair
    data = os.urandom(1_234_567)
    write(src.storage, f"{src.base}/f", data)
    result = copy_file(
        src.storage, f"{src.base}/f", dst.storage, f"{dst.base}/g", checksum=algorithm
    )
    expected = {
        "adler32": f"{zlib.adler32(data) & 0xFFFFFFFF:08x}",
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "none": None,
    }[algorithm]
    assert (result.algorithm, result.checksum) == (algorithm, expected)
    assert read(dst.storage, f"{dst.base}/g") == data
    if algorithm == "adler32":
        server_side = src if src.name == "root" else dst
        path = f"{src.base}/f" if src.name == "root" else f"{dst.base}/g"
        assert server_side.storage.checksum(path, "adler32") == expected


def test_overwrite_false_refuses_before_moving_bytes(case: Case, tmp_path: Any) -> None:
    from haul.storage import open_storage

    local = open_storage("file:///")
    (tmp_path / "a").write_bytes(b"first")
    (tmp_path / "b").write_bytes(b"second version")
    target = f"{case.base}/target"
    copy_file(local, str(tmp_path / "a"), case.storage, target)

    def must_not_read(*_: object) -> bool:
        raise AssertionError("bytes moved before the existence check")

    with pytest.raises(TransferError) as err:
        copy_file(local, str(tmp_path / "b"), case.storage, target, cancelled=must_not_read)
    assert (err.value.code, err.value.scope, err.value.retryable) == (
        ErrorCode.EXISTS,
        ErrorScope.DESTINATION,
        False,
    )
    assert read(case.storage, target) == b"first"
    copy_file(local, str(tmp_path / "b"), case.storage, target, overwrite=True)
    assert read(case.storage, target) == b"second version"
    assert leftovers(case.storage, case.base) == []


def test_cancellation_leaves_nothing(case: Case, tmp_path: Any) -> None:
    from haul.storage import open_storage

    local = open_storage("file:///")
    (tmp_path / "src").write_bytes(os.urandom(3 * 1024 * 1024))
    calls = 0

    def cancelled() -> bool:
        nonlocal calls
        calls += 1
        return calls > 2

    with pytest.raises(TransferError) as err:
        copy_file(
            local,
            str(tmp_path / "src"),
            case.storage,
            f"{case.base}/dst",
            cancelled=cancelled,
            chunk_size=256 * 1024,
        )
    assert err.value.code is ErrorCode.CANCELLED
    assert err.value.retryable is False
    assert list(case.storage.list(case.base)) == []


def test_no_partial_file_under_final_name(case: Case, tmp_path: Any) -> None:
    from haul.storage import open_storage

    local = open_storage("file:///")
    data = os.urandom(2 * 1024 * 1024)
    (tmp_path / "src").write_bytes(data)
    final = f"{case.base}/final.dat"
    seen_temp: list[str] = []

    def watch() -> bool:
        # Called between chunks: the final name must not exist yet.
        assert not case.storage.exists(final)
        seen_temp.extend(e.name for e in case.storage.list(case.base) if is_temp_name(e.path))
        return False

    copy_file(
        local, str(tmp_path / "src"), case.storage, final, cancelled=watch, chunk_size=512 * 1024
    )
    assert seen_temp and all(n.startswith(".final.dat.haul-part-") for n in seen_temp)
    assert read(case.storage, final) == data
    assert [e.name for e in case.storage.list(case.base)] == ["final.dat"]


class _FailingReads:
    """A real storage whose read streams break after `after` bytes."""

    def __init__(self, inner: Storage, after: int) -> None:
        self._inner = inner
        self._after = after

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def open_sized(self, path: str) -> tuple[BinaryIO, Any]:
        # The copy engine opens sources through open_sized: break that stream too.
        return self.open_read(path), self._inner.stat(path)

    def open_read(self, path: str) -> BinaryIO:
        inner = self._inner.open_read(path)
        after = self._after

        class Broken(io.RawIOBase):
            done = 0

            def readable(self) -> bool:
                return True

            def readinto(self, b: Any) -> int:
                if self.done >= after:
                    raise TransferError(ErrorCode.CONNECTION, "connection reset (injected)")
                data = inner.read(min(len(b), after - self.done))
                b[: len(data)] = data
                self.done += len(data)
                return len(data)

        return Broken()  # type: ignore[return-value]


class _CorruptingWrites:
    """A real storage that flips one bit of what is written to it."""

    def __init__(self, inner: Storage) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def open_write(self, path: str) -> BinaryIO:
        inner = self._inner.open_write(path)

        class Corrupting(io.RawIOBase):
            first = True

            def writable(self) -> bool:
                return True

            def write(self, b: Any) -> int:
                data = bytearray(b)
                if self.first and data:
                    data[0] ^= 1
                    self.first = False
                return inner.write(bytes(data)) or len(data)

            def close(self) -> None:
                if not self.closed:
                    inner.close()
                    super().close()

        return Corrupting()  # type: ignore[return-value]


def test_source_failure_mid_stream_cleans_up(case: Case, tmp_path: Any) -> None:
    from haul.storage import open_storage

    (tmp_path / "src").write_bytes(os.urandom(2 * 1024 * 1024))
    broken = _FailingReads(open_storage("file:///"), after=700_000)
    with pytest.raises(TransferError) as err:
        copy_file(broken, str(tmp_path / "src"), case.storage, f"{case.base}/x", chunk_size=1 << 18)  # type: ignore[arg-type]
    assert (err.value.code, err.value.scope, err.value.retryable) == (
        ErrorCode.CONNECTION,
        ErrorScope.SOURCE,
        True,
    )
    assert list(case.storage.list(case.base)) == []


def test_corrupted_destination_is_caught(case: Case, tmp_path: Any) -> None:
    from haul.storage import open_storage

    (tmp_path / "src").write_bytes(os.urandom(300_000))
    corrupting = _CorruptingWrites(case.storage)
    with pytest.raises(TransferError) as err:
        copy_file(open_storage("file:///"), str(tmp_path / "src"), corrupting, f"{case.base}/x")  # type: ignore[arg-type]
    assert (err.value.code, err.value.scope, err.value.retryable) == (
        ErrorCode.CHECKSUM_MISMATCH,
        ErrorScope.DESTINATION,
        True,
    )
    assert list(case.storage.list(case.base)) == []


def test_source_errors_are_scoped(case: Case) -> None:
    from haul.storage import open_storage

    dst = open_storage("dummy://scoped/")
    with pytest.raises(TransferError) as err:
        copy_file(case.storage, f"{case.base}/missing", dst, "/out")
    assert (err.value.code, err.value.scope, err.value.retryable) == (
        ErrorCode.NOT_FOUND,
        ErrorScope.SOURCE,
        False,
    )
    with pytest.raises(TransferError) as err:
        copy_file(case.storage, case.base, dst, "/out")
    assert (err.value.code, err.value.scope) == (ErrorCode.IS_A_DIRECTORY, ErrorScope.SOURCE)
