"""What a job says a source file is, checked while copying it.

A COPY that lists its files may give each one's size and checksum (FTS3's
``filesize`` and ``checksum``): the replica must be the one the user meant.
The size is checked against the source's stat before any byte moves; the
checksum against the digest of the bytes read, before anything is published.
A mismatch is the source's fault and reading it again gives the same bytes,
so it is not retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from haul.domain.errors import ErrorCode, ErrorScope, TransferError
from haul.storage.checksums import normalize_value


@dataclass(frozen=True)
class Expectation:
    size: int | None = None
    algorithm: str | None = None  # the checksum's algorithm, when one is expected
    value: str | None = None

    @classmethod
    def from_lease(cls, expect: dict[str, Any] | None) -> Expectation | None:
        """From a lease element's ``expect`` ({"checksum": "algo:hex", "filesize": n})."""
        if not expect:
            return None
        algorithm = value = None
        if expect.get("checksum"):
            algorithm, _, value = str(expect["checksum"]).partition(":")
        size = expect.get("filesize")
        return cls(size=None if size is None else int(size), algorithm=algorithm, value=value)

    def check_size(self, path: str, actual: int) -> None:
        if self.size is not None and actual != self.size:
            raise TransferError(
                ErrorCode.SIZE_MISMATCH,
                f"{path}: has {actual} bytes, the job listed {self.size}",
                scope=ErrorScope.SOURCE,
                retryable=False,
            )

    def check_checksum(self, path: str, algorithm: str, digest: str) -> None:
        if self.value is None or self.algorithm is None:
            return
        if algorithm != self.algorithm:
            raise TransferError(
                ErrorCode.INTERNAL,
                f"{path}: hashed with {algorithm}, but the job listed a {self.algorithm}",
                scope=ErrorScope.TRANSFER,
                retryable=False,
            )
        if normalize_value(algorithm, digest) != normalize_value(algorithm, self.value):
            raise TransferError(
                ErrorCode.CHECKSUM_MISMATCH,
                f"{path}: {algorithm} {digest}, the job listed {self.value}",
                scope=ErrorScope.SOURCE,
                retryable=False,
            )
