"""Uploads to S3 as the bytes come: a plain PUT for a small object, multipart past one part.

The copy engine writes a stream of unknown length; holding the whole file
would bound the file size by memory. One part is held at a time, so memory
is PART_SIZE per open upload, and a failed or abandoned upload is aborted
so no parts are left to be billed (`abort`).
"""

from __future__ import annotations

import contextlib
from typing import Any

from haul.storage._base import WriteStream
from haul.storage.s3_errors import S3_ERRORS

PART_SIZE = 8 * 1024 * 1024  # S3's minimum part is 5 MiB; 8 MiB matches boto3's default.


class MultipartWriter(WriteStream):
    """Uploads as it goes: one part in memory at a time, multipart past one part."""

    def __init__(self, client: Any, bucket: str, key: str, path: str) -> None:
        super().__init__()
        self._client = client
        self._bucket = bucket
        self._key = key
        self._path = path
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._buffer += b
        while len(self._buffer) >= PART_SIZE:
            part = bytes(self._buffer[:PART_SIZE])
            del self._buffer[:PART_SIZE]
            self._upload_part(part)
        return len(b)

    def _upload_part(self, data: bytes) -> None:
        with S3_ERRORS.translated(self._path):
            if self._upload_id is None:
                created = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key)
                self._upload_id = created["UploadId"]
            number = len(self._parts) + 1
            answer = self._client.upload_part(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=data,
            )
            self._parts.append({"ETag": answer["ETag"], "PartNumber": number})

    def close(self) -> None:
        if self.closed:
            return
        try:
            with S3_ERRORS.translated(self._path):
                if self._upload_id is None:
                    self._client.put_object(
                        Bucket=self._bucket, Key=self._key, Body=bytes(self._buffer)
                    )
                else:
                    if self._buffer:
                        self._upload_part(bytes(self._buffer))
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
        super().close()

    def abort(self) -> None:
        if self._upload_id is not None:
            with contextlib.suppress(Exception):  # a lifecycle rule reaps leftovers
                self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=self._key, UploadId=self._upload_id
                )
            self._upload_id = None
        self._buffer = bytearray()
        WriteStream.close(self)
