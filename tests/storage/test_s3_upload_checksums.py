"""Uploads to S3 carry their CRC32 and are verified by S3's answer, without a read back.

Against moto, which stores and answers the checksum it was sent. What a
server says back is changed with botocore's own event hooks on the real
client (no mock of the client): a server that answers no checksum, one that
answers another, one that refuses the header.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from haul.domain.errors import ErrorCode, TransferError
from haul.storage import s3
from haul.storage.copy import copy_file
from haul.storage.s3_clients import SharedClients
from haul.storage.s3_upload import PART_SIZE, PARTS_IN_FLIGHT, RECEIPT, crc32_b64
from haul.storage.schemes import open_storage
from tests.servers.fixtures import S3_BUCKET, StorageServer


@pytest.fixture(autouse=True)
def own_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's storages get clients of their own: the hooks a test registers
    on its client must not outlive it on a client other storages share
    (storage/s3_clients.py)."""
    monkeypatch.setattr(s3, "CLIENTS", SharedClients())


def _requests(log: Path) -> list[dict[str, Any]]:
    """moto's recorded requests. Its recorder writes concurrent requests (parallel
    parts) without a lock, so their lines can be torn: those are skipped here,
    and what the parts sent is checked on the client's side instead."""
    out = []
    for line in log.read_text().splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


def _headers(request: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in request["headers"].items()}


def _copy_up(
    s3: StorageServer, tmp_path: Path, size: int, name: str, dst: Any = None
) -> tuple[Any, bytes, Any]:
    data = os.urandom(size)
    (tmp_path / name).write_bytes(data)
    dst = dst or open_storage(s3.endpoint_url, s3.credential)
    result = copy_file(
        open_storage("file:///"), str(tmp_path / name), dst, f"/{S3_BUCKET}/up/{name}"
    )
    return result, data, dst


@pytest.mark.parametrize("size", [100_000, 2 * PART_SIZE + 12_345], ids=["one-put", "multipart"])
def test_an_upload_is_verified_by_the_crc32_s3_stored(
    s3_recorded_server: StorageServer, tmp_path: Path, size: int
) -> None:
    s3 = s3_recorded_server
    assert s3.request_log is not None
    dst = open_storage(s3.endpoint_url, s3.credential)
    puts: list[tuple[str, str | None]] = []  # (url, x-amz-checksum-crc32) as sent

    def sending(request: Any, **_: Any) -> None:
        if request.method == "PUT" and "haul-part" in request.url:
            puts.append((request.url, request.headers.get("x-amz-checksum-crc32")))

    for operation in ("PutObject", "UploadPart"):
        dst._client.meta.events.register(f"before-send.s3.{operation}", sending)
    result, data, _ = _copy_up(s3, tmp_path, size, "f.bin", dst)
    assert result.verified == "upload receipt: " + RECEIPT
    assert "confirmed by S3's CRC32 of the upload, no read back" in result.verification()
    with dst.open_read(f"/{S3_BUCKET}/up/f.bin") as stream:
        assert stream.read() == data
    sent = [crc.decode() if isinstance(crc, bytes) else crc for _, crc in puts]
    assert sent and all(sent), sent  # every PUT and part carried its CRC32
    if size < PART_SIZE:
        assert sent == [crc32_b64(data)]
    else:  # parts upload in parallel: match each to its number
        pieces = [data[i : i + PART_SIZE] for i in range(0, size, PART_SIZE)]
        numbers = [int(parse_qs(urlsplit(url).query)["partNumber"][0]) for url, _ in puts]
        assert dict(zip(numbers, sent, strict=True)) == {
            n + 1: crc32_b64(p) for n, p in enumerate(pieces)
        }
    requests = _requests(s3.request_log)
    # The temporary was never read back (the only GET of an object is the test's own).
    gets = [r for r in requests if r["method"] == "GET" and "list-type" not in r["url"]]
    assert [g["url"].split("?")[0].rsplit("/", 2)[-2:] for g in gets] == [["up", "f.bin"]]


def _answer_hook(dst: Any, change: Any) -> None:
    def after(parsed: dict[str, Any], **_: Any) -> None:
        change(parsed)

    for operation in ("PutObject", "UploadPart"):
        dst._client.meta.events.register(f"after-call.s3.{operation}", after)


def test_a_server_that_answers_no_checksum_is_read_back(
    s3_server: StorageServer, tmp_path: Path
) -> None:
    data = os.urandom(50_000)
    (tmp_path / "a.bin").write_bytes(data)
    dst = open_storage(s3_server.endpoint_url, s3_server.credential)
    _answer_hook(dst, lambda parsed: parsed.pop("ChecksumCRC32", None))
    result = copy_file(
        open_storage("file:///"), str(tmp_path / "a.bin"), dst, f"/{S3_BUCKET}/up/a.bin"
    )
    assert result.verified == "read back"


def test_a_server_that_stored_other_bytes_fails_the_copy_and_publishes_nothing(
    s3_server: StorageServer, tmp_path: Path
) -> None:
    (tmp_path / "b.bin").write_bytes(os.urandom(50_000))
    dst = open_storage(s3_server.endpoint_url, s3_server.credential)
    _answer_hook(dst, lambda parsed: parsed.update(ChecksumCRC32="AAAAAA=="))
    with pytest.raises(TransferError) as caught:
        copy_file(open_storage("file:///"), str(tmp_path / "b.bin"), dst, f"/{S3_BUCKET}/up/b.bin")
    assert caught.value.code is ErrorCode.CHECKSUM_MISMATCH
    assert not dst.exists(f"/{S3_BUCKET}/up/b.bin")


def test_a_server_that_refuses_the_header_is_asked_without_it_from_then_on(
    s3_server: StorageServer, tmp_path: Path
) -> None:
    from botocore.awsrequest import AWSResponse

    dst = open_storage(s3_server.endpoint_url, s3_server.credential)
    refused: list[str] = []

    class _Raw:
        def stream(self, *_: Any, **__: Any) -> Any:
            yield b""

    def before_send(request: Any, **_: Any) -> Any:
        if request.method == "PUT" and "x-amz-checksum-crc32" in request.headers:
            refused.append(request.url)
            body = (
                b"<?xml version='1.0'?><Error><Code>InvalidArgument</Code>"
                b"<Message>x-amz-checksum-crc32 is not supported</Message></Error>"
            )
            response = AWSResponse(request.url, 400, {}, _Raw())
            response._content = body
            return response
        return None

    dst._client.meta.events.register("before-send.s3", before_send)
    for name in ("c.bin", "d.bin"):
        data = os.urandom(30_000)
        (tmp_path / name).write_bytes(data)
        result = copy_file(
            open_storage("file:///"), str(tmp_path / name), dst, f"/{S3_BUCKET}/up/{name}"
        )
        assert result.verified == "read back"
        with dst.open_read(f"/{S3_BUCKET}/up/{name}") as stream:
            assert stream.read() == data
    assert len(refused) == 1  # asked with the header once, never again


def test_a_large_upload_sends_its_parts_in_parallel(
    s3_server: StorageServer, tmp_path: Path
) -> None:
    import threading
    import time

    dst = open_storage(s3_server.endpoint_url, s3_server.credential)
    state = {"now": 0, "most": 0}
    lock = threading.Lock()

    def before(**_: Any) -> None:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.05)  # long enough for the next part to start beside it

    def after(**_: Any) -> None:
        with lock:
            state["now"] -= 1

    dst._client.meta.events.register("before-call.s3.UploadPart", before)
    dst._client.meta.events.register("after-call.s3.UploadPart", after)
    result, data, _ = _copy_up(s3_server, tmp_path, 5 * PART_SIZE + 1, "par.bin", dst)
    with dst.open_read(f"/{S3_BUCKET}/up/par.bin") as stream:
        assert stream.read() == data
    assert result.verified == "upload receipt: " + RECEIPT
    assert state["most"] > 1  # parts overlapped
    assert state["most"] <= PARTS_IN_FLIGHT


def test_a_failed_part_aborts_the_upload_and_publishes_nothing(
    s3_server: StorageServer, tmp_path: Path
) -> None:
    dst = open_storage(s3_server.endpoint_url, s3_server.credential)

    def fail_third(params: dict[str, Any], **_: Any) -> None:
        if params.get("PartNumber") == 3:
            raise ConnectionResetError("the link dropped")

    dst._client.meta.events.register("provide-client-params.s3.UploadPart", fail_third)
    (tmp_path / "f.bin").write_bytes(os.urandom(4 * PART_SIZE + 7))
    with pytest.raises(TransferError):
        copy_file(
            open_storage("file:///"), str(tmp_path / "f.bin"), dst, f"/{S3_BUCKET}/up/fail.bin"
        )
    assert not dst.exists(f"/{S3_BUCKET}/up/fail.bin")
    uploads = dst._client.list_multipart_uploads(Bucket=S3_BUCKET).get("Uploads", [])
    assert [u["Key"] for u in uploads if "fail.bin" in u["Key"]] == []  # aborted, nothing billed
