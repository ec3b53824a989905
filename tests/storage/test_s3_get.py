"""S3 downloads by presigned URL through http.client (storage/s3_get.py), against moto."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from haul.domain.errors import ErrorCode, TransferError
from haul.storage.copy import copy_file
from haul.storage.schemes import open_storage
from tests.servers.fixtures import S3_BUCKET, StorageServer


def _requests(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def test_a_download_is_one_presigned_get_with_the_size_and_time_of_its_headers(
    s3_recorded_server: StorageServer, tmp_path: Path
) -> None:
    s3 = s3_recorded_server
    assert s3.request_log is not None
    storage = open_storage(s3.endpoint_url, s3.credential)
    data = os.urandom(3 * 1024 * 1024 + 5)
    storage._client.put_object(Bucket=S3_BUCKET, Key="g/one.bin", Body=data)
    head = storage._client.head_object(Bucket=S3_BUCKET, Key="g/one.bin")
    start = len(_requests(s3.request_log))

    stream, entry = storage.open_sized(f"/{S3_BUCKET}/g/one.bin")
    with stream:
        assert stream.read() == data
    assert entry.size == len(data) and not entry.is_dir
    assert entry.mtime == head["LastModified"].timestamp()

    (get,) = _requests(s3.request_log)[start:]
    query = parse_qs(urlsplit(get["url"]).query)
    assert get["method"] == "GET"
    # Signed with the site's own key, in the query (SigV4 presigned), nothing else.
    assert query["X-Amz-Credential"][0].startswith("haul-access/")
    assert "X-Amz-Signature" in query
    assert "authorization" not in {k.lower() for k in get["headers"]}

    res = copy_file(
        storage, f"/{S3_BUCKET}/g/one.bin", open_storage("file:///"), str(tmp_path / "c")
    )
    assert res.bytes == len(data) and (tmp_path / "c").read_bytes() == data


def test_a_missing_key_and_a_prefix_answer_as_before(s3_server: StorageServer) -> None:
    storage = open_storage(s3_server.endpoint_url, s3_server.credential)
    storage._client.put_object(Bucket=S3_BUCKET, Key="h/dir/inside.bin", Body=b"x")
    with pytest.raises(TransferError) as missing:
        storage.open_sized(f"/{S3_BUCKET}/h/nothing.bin")
    assert missing.value.code is ErrorCode.NOT_FOUND
    with pytest.raises(TransferError) as prefix:
        storage.open_sized(f"/{S3_BUCKET}/h/dir")
    assert prefix.value.code is ErrorCode.IS_A_DIRECTORY


def test_an_unsigned_site_downloads_without_any_signature(
    s3_recorded_server: StorageServer,
) -> None:
    s3 = s3_recorded_server
    assert s3.request_log is not None
    signed = open_storage(s3.endpoint_url, s3.credential)
    signed._client.put_object(
        Bucket=S3_BUCKET, Key="open/f.bin", Body=b"public bytes", ACL="public-read"
    )
    start = len(_requests(s3.request_log))
    unsigned = open_storage(s3.endpoint_url, {})
    with unsigned.open_read(f"/{S3_BUCKET}/open/f.bin") as stream:
        assert stream.read() == b"public bytes"
    for request in _requests(s3.request_log)[start:]:
        assert "X-Amz-Credential" not in request["url"] and "X-Amz-Signature" not in request["url"]
        assert "authorization" not in {k.lower() for k in request["headers"]}


AWKWARD_KEYS = ["k/plain.bin", "k/a b+c%d.bin", "k/ü~é/ünï.bin", "k/semi;colon&amp=x?.bin"]


def test_a_buckets_later_keys_are_signed_as_botocore_presigns_them(
    s3_recorded_server: StorageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first URL of a bucket is botocore's; later ones put the key where
    it put it and are signed by `s3_presign.QuerySigner`: at the same second,
    the very URL botocore presigns, and every awkward key downloads."""
    s3 = s3_recorded_server
    assert s3.request_log is not None
    storage = open_storage(s3.endpoint_url, s3.credential)
    for i, key in enumerate(AWKWARD_KEYS):
        storage._client.put_object(Bucket=S3_BUCKET, Key=key, Body=f"bytes {i}".encode())
    second = datetime.datetime(2026, 12, 3, 12, 34, 56)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: second)
    gets = storage._gets
    assert gets._signer is not None
    gets._signer._clock = second.replace(tzinfo=datetime.UTC).timestamp
    start = len(_requests(s3.request_log))
    for i, key in enumerate(AWKWARD_KEYS):
        with storage.open_read(f"/{S3_BUCKET}/{key}") as stream:
            assert stream.read() == f"bytes {i}".encode()
        found = gets._target(S3_BUCKET, key)
        assert found is not None
        where, target = found
        botocores = storage._client.generate_presigned_url(
            "get_object", Params={"Bucket": S3_BUCKET, "Key": key}, ExpiresIn=300
        )
        assert f"{where.scheme}://{where.host_header}{target}" == botocores
    assert gets._where[S3_BUCKET]  # learnt from the first key, used for the rest
    sent = _requests(s3.request_log)[start:]
    assert [r["method"] for r in sent] == ["GET"] * len(AWKWARD_KEYS)  # one GET a key, no HEAD
    urls = [r["url"] for r in _requests(s3.request_log) if r["method"] == "GET"]
    assert sum("X-Amz-Signature" in u for u in urls) >= len(AWKWARD_KEYS)


def test_threads_opening_one_site_share_one_client_until_the_last_closes(
    s3_server: StorageServer,
) -> None:
    """Storages of the same site, credential and access (the worker keeps one per
    thread) share one botocore client (storage/s3_clients.py); another credential
    gets its own; the client is closed only when its last storage closes."""
    from haul.storage.s3_clients import CLIENTS

    mine = {**s3_server.credential, "region": "ap-south-1"}  # no other test's client
    first = open_storage(s3_server.endpoint_url, mine)
    second = open_storage(s3_server.endpoint_url, dict(mine))
    other = open_storage(s3_server.endpoint_url, {**mine, "region": "eu-west-1"})
    assert first._client is second._client
    assert other._client is not first._client
    first._client.put_object(Bucket=S3_BUCKET, Key="shared/one.bin", Body=b"one")
    first.close()
    # The other thread's storage still works on the shared client.
    stream, entry = second.open_sized(f"/{S3_BUCKET}/shared/one.bin")
    with stream:
        assert stream.read() == b"one"
    assert second.stat(f"/{S3_BUCKET}/shared/one.bin").size == 3
    held = CLIENTS.count()
    second.close()
    assert CLIENTS.count() == held - 1  # its last user closed it
    other.close()
    assert CLIENTS.count() == held - 2
