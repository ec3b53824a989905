"""Each step of `copy_file` fails in its own scope, and leaves nothing behind.

Real files on the local disk; a storage that fails on purpose at one call
stands for a backend failing at that step.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from haul.domain.errors import ErrorCode, ErrorScope, TransferError
from haul.storage import copy_file
from haul.storage.local import LocalStorage
from haul.storage.temporaries import is_temp_name


class _BrokenWriter(io.RawIOBase):
    def __init__(self, inner: BinaryIO, exc: BaseException) -> None:
        super().__init__()
        self._inner = inner
        self._exc = exc

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        raise self._exc

    def close(self) -> None:
        self._inner.close()
        super().close()


class _Faulty(LocalStorage):
    """Raises `fail[name]` when method `name` is called (for "write": the writer's write)."""

    def __init__(self, fail: dict[str, BaseException]) -> None:
        super().__init__()
        self.fail = fail

    def _maybe(self, name: str) -> None:
        if name in self.fail:
            raise self.fail[name]

    def open_sized(self, path: str) -> tuple[BinaryIO, Any]:
        self._maybe("open_sized")
        return super().open_sized(path)

    def exists(self, path: str) -> bool:
        self._maybe("exists")
        return super().exists(path)

    def open_write(self, path: str) -> BinaryIO:
        self._maybe("open_write")
        stream = super().open_write(path)
        if "write" in self.fail:
            return _BrokenWriter(stream, self.fail["write"])  # type: ignore[return-value]
        return stream

    def checksum(self, path: str, algorithm: str) -> str | None:
        self._maybe("checksum")
        return None

    def stat(self, path: str) -> Any:
        if is_temp_name(os.path.basename(path)):
            self._maybe("stat_temp")
        return super().stat(path)

    def rename_noreplace(self, src: str, dst: str) -> None:
        self._maybe("rename_noreplace")
        super().rename_noreplace(src, dst)


CASES = [
    # (which side fails, method, exception, code, scope, message start)
    ("src", "open_sized", RuntimeError("boom"), ErrorCode.INTERNAL, ErrorScope.SOURCE,
     "preparing copy: RuntimeError: boom"),
    ("src", "open_sized", TransferError(ErrorCode.TIMEOUT, "slow"), ErrorCode.TIMEOUT,
     ErrorScope.SOURCE, "slow"),
    ("dst", "exists", TransferError(ErrorCode.CONNECTION, "gone"), ErrorCode.CONNECTION,
     ErrorScope.DESTINATION, "gone"),
    ("dst", "exists", ValueError("odd"), ErrorCode.INTERNAL, ErrorScope.DESTINATION,
     "preparing copy: ValueError: odd"),
    ("dst", "open_write", TransferError(ErrorCode.NO_SPACE, "full"), ErrorCode.NO_SPACE,
     ErrorScope.DESTINATION, "full"),
    ("dst", "write", RuntimeError("bad disk"), ErrorCode.INTERNAL, ErrorScope.DESTINATION,
     "copying: RuntimeError: bad disk"),
    ("src", "checksum", TransferError(ErrorCode.TIMEOUT, "no sum"), ErrorCode.TIMEOUT,
     ErrorScope.SOURCE, "no sum"),
    ("dst", "checksum", TransferError(ErrorCode.CONNECTION, "lost"), ErrorCode.CONNECTION,
     ErrorScope.DESTINATION, "lost"),
    ("dst", "checksum", KeyError("k"), ErrorCode.INTERNAL, ErrorScope.DESTINATION,
     "copying: KeyError: 'k'"),
    ("dst", "stat_temp", TransferError(ErrorCode.NOT_FOUND, "vanished"), ErrorCode.NOT_FOUND,
     ErrorScope.DESTINATION, "vanished"),
    ("dst", "rename_noreplace", TransferError(ErrorCode.PERMISSION_DENIED, "no"),
     ErrorCode.PERMISSION_DENIED, ErrorScope.DESTINATION, "no"),
]  # fmt: skip


@pytest.mark.parametrize(("side", "method", "exc", "code", "scope", "message"), CASES)
def test_each_step_fails_in_its_own_scope(
    tmp_path: Path,
    side: str,
    method: str,
    exc: BaseException,
    code: ErrorCode,
    scope: ErrorScope,
    message: str,
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "f.dat").write_bytes(os.urandom(100_000))
    fail = {method: exc}
    src = _Faulty(fail if side == "src" else {})
    dst = _Faulty(fail if side == "dst" else {})
    # verify off where the destination's checksum is not what fails: the
    # stat of the temporary (size check) is then the step that runs.
    verify = method != "stat_temp"
    with pytest.raises(TransferError) as caught:
        copy_file(
            src,
            str(tmp_path / "in" / "f.dat"),
            dst,
            str(tmp_path / "out" / "f.dat"),
            checksum="adler32",
            verify=verify,
        )
    err = caught.value
    assert (err.code, err.scope) == (code, scope), err
    assert err.message.startswith(message), err.message
    out = tmp_path / "out"
    assert not (out / "f.dat").exists()
    assert not any(is_temp_name(p.name) for p in out.iterdir()) if out.exists() else True


def test_a_cancellation_is_nobodys_fault(tmp_path: Path) -> None:
    (tmp_path / "f.dat").write_bytes(b"x" * 10_000)
    calls = iter([False, False, True])  # cancelled once the stream has begun
    with pytest.raises(TransferError) as caught:
        copy_file(
            LocalStorage(),
            str(tmp_path / "f.dat"),
            LocalStorage(),
            str(tmp_path / "g.dat"),
            cancelled=lambda: next(calls, True),
        )
    assert (caught.value.code, caught.value.scope) == (ErrorCode.CANCELLED, ErrorScope.TRANSFER)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.dat"]
