"""Publishing a verified temporary under its final name: the rule that nothing
is replaced unless the job said `overwrite`, shared by both copy engines."""

from __future__ import annotations

from haul.domain.errors import ErrorCode, TransferError
from haul.storage._base import Storage


def publish(dst: Storage, temp: str, dst_path: str, overwrite: bool) -> None:
    """Gives the verified temporary its final name; never replaces a file unless `overwrite`."""
    if overwrite:
        dst.rename(temp, dst_path)
        return
    noreplace = getattr(dst, "rename_noreplace", None)
    try:
        if noreplace is not None:
            noreplace(temp, dst_path)
        else:  # a Storage that is not a BaseStorage: check, then rename
            if dst.exists(dst_path):
                raise TransferError(ErrorCode.EXISTS, f"{dst_path}: exists")
            dst.rename(temp, dst_path)
    except TransferError as exc:
        if exc.code is ErrorCode.EXISTS:
            raise TransferError(
                ErrorCode.EXISTS, f"{dst_path}: appeared during the copy", retryable=False
            ) from None
        raise
