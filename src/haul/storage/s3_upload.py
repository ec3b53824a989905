"""Uploads to S3 as the bytes come: a plain PUT for a small object, multipart past one part.

The copy engine writes a stream of unknown length; holding the whole file
would bound the file size by memory. Past one part, up to PARTS_IN_FLIGHT
parts upload at once (one connection each, as boto3's transfer manager
does: one S3 connection rarely fills a link), so memory is at most
(PARTS_IN_FLIGHT + 1) x PART_SIZE per open upload; a small file never starts
a thread. A failed or abandoned upload is aborted so no parts are left to be
billed (`abort`).

Every PUT and part carries its CRC32 (S3's additional checksums) as the
`x-amz-checksum-crc32` header, computed here rather than by botocore, which
over HTTPS would send it as an aws-chunked trailer that older S3-compatible
servers refuse. S3 checks the bytes it received against it (BadDigest
otherwise) and answers the CRC32 it stored; when every answer matches what
was sent, `receipt` says so and the copy engine needs no read back. A server
that answers no checksum leaves `receipt` None (the engine reads back); one
that refuses the header is asked again without it, and not asked again
(`ChecksumSupport`).
"""

from __future__ import annotations

import base64
import collections
import contextlib
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from haul.domain.errors import ErrorCode, TransferError
from haul.storage._base import WriteStream
from haul.storage.s3_errors import S3_ERRORS

PART_SIZE = 8 * 1024 * 1024  # S3's minimum part is 5 MiB; 8 MiB matches boto3's default.
PARTS_IN_FLIGHT = 4
RECEIPT = "S3's CRC32 of the upload"


def crc32_b64(data: bytes) -> str:
    """A CRC32 in S3's form: base64 of its four bytes, big-endian."""
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode("ascii")


@dataclass
class ChecksumSupport:
    """Per storage: whether the server took the checksum header (None: not known yet)."""

    takes_header: bool | None = None


def _refuses_checksums(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    said = f"{error.get('Code', '')} {error.get('Message', '')}".lower()
    return status in (400, 501) and "checksum" in said and error.get("Code") != "BadDigest"


class MultipartWriter(WriteStream):
    """Uploads as it goes: one part in memory at a time, multipart past one part."""

    def __init__(
        self, client: Any, bucket: str, key: str, path: str, support: ChecksumSupport
    ) -> None:
        super().__init__()
        self._client = client
        self._bucket = bucket
        self._key = key
        self._path = path
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._support = support
        self._confirmed = True  # every answer so far carried the CRC32 that was sent
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: collections.deque[Future[dict[str, Any]]] = collections.deque()

    def _send(
        self, call: Callable[..., dict[str, Any]], data: bytes, **args: Any
    ) -> dict[str, Any]:
        """One PUT or part, with its CRC32 unless the server refused the header."""
        if self._support.takes_header is False:
            self._confirmed = False
            return call(Body=data, **args)
        sent = crc32_b64(data)
        try:
            answer = call(Body=data, ChecksumAlgorithm="CRC32", ChecksumCRC32=sent, **args)
        except ClientError as exc:
            if self._support.takes_header or not _refuses_checksums(exc):
                raise
            self._support.takes_header = False
            self._confirmed = False
            return call(Body=data, **args)
        self._support.takes_header = True
        stored = answer.get("ChecksumCRC32")
        if stored is None:
            self._confirmed = False
        elif stored != sent:
            raise TransferError(
                ErrorCode.CHECKSUM_MISMATCH,
                f"{self._path}: S3 stored CRC32 {stored} for a part sent with {sent}",
            )
        return answer

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._buffer += b
        while len(self._buffer) >= PART_SIZE:
            part = bytes(self._buffer[:PART_SIZE])
            del self._buffer[:PART_SIZE]
            self._upload_part(part)
        return len(b)

    def _upload_part(self, data: bytes) -> None:
        """Starts one part; waits for the oldest first when PARTS_IN_FLIGHT are out."""
        with S3_ERRORS.translated(self._path):
            if self._upload_id is None:
                # Parts may carry a CRC32 only if the upload was created for them.
                algorithm = (
                    {} if self._support.takes_header is False else {"ChecksumAlgorithm": "CRC32"}
                )
                created = self._client.create_multipart_upload(
                    Bucket=self._bucket, Key=self._key, **algorithm
                )
                self._upload_id = created["UploadId"]
                self._pool = ThreadPoolExecutor(PARTS_IN_FLIGHT, thread_name_prefix="s3-part")
        while len(self._inflight) >= PARTS_IN_FLIGHT:
            self._settle_one()
        number = len(self._parts) + len(self._inflight) + 1
        assert self._pool is not None
        self._inflight.append(self._pool.submit(self._part, data, number))

    def _part(self, data: bytes, number: int) -> dict[str, Any]:
        with S3_ERRORS.translated(self._path):
            answer = self._send(
                self._client.upload_part,
                data,
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                PartNumber=number,
            )
        part = {"ETag": answer["ETag"], "PartNumber": number}
        if answer.get("ChecksumCRC32"):
            part["ChecksumCRC32"] = answer["ChecksumCRC32"]
        return part

    def _settle_one(self) -> None:
        self._parts.append(self._inflight.popleft().result())  # raises the part's failure

    def close(self) -> None:
        if self.closed:
            return
        try:
            with S3_ERRORS.translated(self._path):
                if self._upload_id is None:
                    self._send(
                        self._client.put_object,
                        bytes(self._buffer),
                        Bucket=self._bucket,
                        Key=self._key,
                    )
                else:
                    if self._buffer:
                        self._upload_part(bytes(self._buffer))
                    while self._inflight:
                        self._settle_one()
                    self._stop_pool()
                    self._client.complete_multipart_upload(
                        Bucket=self._bucket,
                        Key=self._key,
                        UploadId=self._upload_id,
                        MultipartUpload={"Parts": self._parts},
                    )
        except BaseException:
            self.abort()
            raise
        self._buffer = bytearray()
        if self._confirmed:
            self.receipt = RECEIPT
        super().close()

    def _stop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def abort(self) -> None:
        # Parts still uploading finish (or are dropped) before the abort, so none lands after it.
        self._stop_pool()
        self._inflight.clear()
        if self._upload_id is not None:
            with contextlib.suppress(Exception):  # a lifecycle rule reaps leftovers
                self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=self._key, UploadId=self._upload_id
                )
            self._upload_id = None
        self._buffer = bytearray()
        WriteStream.close(self)
