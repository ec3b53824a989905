"""`s3://` backend over boto3.

URL: `s3://HOST[:PORT]/BUCKET/PREFIX[?scheme=http&region=REGION]`. HOST:PORT is
the S3 service endpoint (https unless `scheme=http`, e.g. for a test moto
server); an empty host (`s3:///bucket`) means AWS itself. Paths given to the
storage are `/BUCKET/KEY`. Credential: `{"access_key", "secret_key"}`, plus
optional "region" and "session_token".

S3 has no directories: a directory is a key prefix; `mkdir` writes an empty
marker object `prefix/` so an empty directory can exist and be listed.

No ambient identity: without a credential the requests are unsigned
(anonymous). The botocore session is sealed (`sealed_session`): it reads no
AWS_* variables, no `~/.aws` files, no instance metadata, no SSO or bearer
token, and no proxy settings, so a user's site never gets the worker's own
cloud identity. Every new connection goes to an address the site's network
policy allows (checked in the connection class, after name resolution).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO
from urllib.parse import parse_qs, urlsplit

import boto3
import botocore.exceptions as bexc
from botocore import UNSIGNED
from botocore.config import Config

from haul.domain.errors import ErrorCode, TransferError
from haul.storage import s3_tree
from haul.storage._base import (
    BaseStorage,
    Entry,
    IteratorReader,
    basename,
    join,
    normpath,
    parent,
)
from haul.storage._s3_timestamps import timestamp
from haul.storage.s3_clients import CLIENTS
from haul.storage.s3_errors import S3_ERRORS
from haul.storage.s3_get import PresignedGets
from haul.storage.s3_presign import QuerySigner
from haul.storage.s3_session import check_connections, sealed_session
from haul.storage.s3_upload import ChecksumSupport, MultipartWriter
from haul.storage.site_access import DIRECT, SiteAccess

SINGLE_COPY_LIMIT = 5 * 1024**3  # S3's largest CopyObject
READ_TIMEOUT = 60  # seconds without a byte, for botocore and the presigned GETs alike


def _split(path: str) -> tuple[str, str]:
    """("bucket", "key") of a normalised path; key is "" for the bucket itself."""
    bucket, _, key = path.lstrip("/").partition("/")
    return bucket, key


class S3Storage(BaseStorage):
    _client_key: tuple[str, str, SiteAccess] | None = None  # its use of a shared client

    def __init__(self, url: str, credential: dict[str, Any], access: SiteAccess = DIRECT) -> None:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        scheme = query.get("scheme", "https")
        endpoint = f"{scheme}://{parts.netloc}" if parts.hostname else None
        region = credential.get("region") or query.get("region") or "us-east-1"
        self.region = region
        config = Config(
            region_name=region,
            s3={"addressing_style": query.get("addressing", "path")},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=10,
            read_timeout=READ_TIMEOUT,
            # Plain payload checksums only when required: S3-compatible servers
            # (older MinIO, Ceph, moto) reject the newer trailing CRC headers.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            proxies={},  # not the worker's HTTP(S)_PROXY
            # haul builds every request itself; checking each against the API
            # model costs CPU per request and catches nothing here.
            parameter_validation=False,
        )
        signed = bool(credential.get("access_key") and credential.get("secret_key"))
        # SigV4 named, so presigned downloads (s3_get.py) are SigV4 too: botocore
        # presigns with the legacy SigV2 query unless told, which newer regions refuse.
        config = config.merge(Config(signature_version="s3v4" if signed else UNSIGNED))
        def make() -> Any:
            sealed = boto3.session.Session(botocore_session=sealed_session())
            client = sealed.client(
                "s3",
                endpoint_url=endpoint,
                aws_access_key_id=credential.get("access_key") if signed else None,
                aws_secret_access_key=credential.get("secret_key") if signed else None,
                aws_session_token=credential.get("session_token") if signed else None,
                config=config,
            )
            check_connections(client, access.network)
            return client

        with S3_ERRORS.translated(url):
            if parts.hostname:
                access.network.addresses(parts.hostname, parts.port or 443)  # fail early
            # Everything the client is made from: its threads share it (s3_clients.py).
            self._client_key = (url, json.dumps(credential, sort_keys=True, default=str), access)
            self._client = CLIENTS.acquire(self._client_key, make)
        self._checksums = ChecksumSupport()
        signer = None
        if signed:
            token = credential.get("session_token")
            signer = QuerySigner(
                str(credential["access_key"]),
                str(credential["secret_key"]),
                str(token) if token else None,
                region,
            )
        self._gets = PresignedGets(self._client, access.network, READ_TIMEOUT, signer)

    # -- helpers ------------------------------------------------------------

    def _has_children(self, bucket: str, key: str, beyond_marker: bool = False) -> bool:
        prefix = f"{key}/" if key else ""
        answer = self._client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=2)
        keys = [obj["Key"] for obj in answer.get("Contents", [])]
        if beyond_marker:
            keys = [k for k in keys if k != prefix]
        return bool(keys)

    # -- Storage ------------------------------------------------------------

    def stat(self, path: str) -> Entry:
        path = normpath(path)
        if path == "/":
            return Entry("/", "/", True, 0, None)
        bucket, key = _split(path)
        with S3_ERRORS.translated(path):
            if not key:
                self._client.head_bucket(Bucket=bucket)
                return Entry(path, bucket, True, 0, None)
            try:
                head = self._client.head_object(Bucket=bucket, Key=key)
            except bexc.ClientError as exc:
                if S3_ERRORS(exc, path).code is not ErrorCode.NOT_FOUND:
                    raise
            else:
                mtime = head["LastModified"].timestamp() if "LastModified" in head else None
                return Entry(path, basename(path), False, int(head["ContentLength"]), mtime)
            if self._has_children(bucket, key):
                return Entry(path, basename(path), True, 0, None)
        raise TransferError(ErrorCode.NOT_FOUND, f"{path}: no such key or prefix")

    def _scandir(self, path: str) -> Iterator[Entry]:
        if path == "/":
            with S3_ERRORS.translated(path):
                buckets = self._client.list_buckets().get("Buckets", [])
            for b in buckets:
                yield Entry(join("/", b["Name"]), b["Name"], True, 0, None)
            return
        bucket, key = _split(path)
        prefix = f"{key}/" if key else ""
        paginator = self._client.get_paginator("list_objects_v2")
        with S3_ERRORS.translated(path):
            pages = list(paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"))
        for page in pages:
            for common in page.get("CommonPrefixes", []):
                name = common["Prefix"][len(prefix) :].rstrip("/")
                if name:
                    yield Entry(join(path, name), name, True, 0, None)
            for obj in page.get("Contents", []):
                name = obj["Key"][len(prefix) :]
                if not name or name.endswith("/"):
                    continue  # the directory's own marker
                mtime = obj["LastModified"].timestamp() if "LastModified" in obj else None
                yield Entry(join(path, name), name, False, int(obj["Size"]), mtime)

    def _walk(
        self, path: str, level: int, depth: int, descend: Callable[[Entry], bool] | None
    ) -> Iterator[Entry]:
        """One listing for the whole tree below a bucket's prefix (s3_tree.py),
        unless only one level is asked."""
        if path == "/" or 0 < depth <= level:
            yield from super()._walk(path, level, depth, descend)
            return
        bucket, key = _split(path)
        prefix = f"{key}/" if key else ""
        paginator = self._client.get_paginator("list_objects_v2")
        with S3_ERRORS.translated(path):
            pages = list(paginator.paginate(Bucket=bucket, Prefix=prefix))
        yield from s3_tree.walk(s3_tree.tree_of(path, prefix, pages), path, level, depth, descend)

    def open_read(self, path: str) -> BinaryIO:
        return self.open_sized(path)[0]

    def open_sized(self, path: str) -> tuple[BinaryIO, Entry]:
        """The GET's body and the size and time its headers carry: no HEAD first."""
        path = normpath(path)
        bucket, key = _split(path)
        if not key:
            raise TransferError(ErrorCode.IS_A_DIRECTORY, f"{path}: is a bucket")
        body = self._gets.open(bucket, key, path)
        if body is not None:
            modified = body.header("Last-Modified")
            mtime = timestamp(modified).timestamp() if modified else None
            entry = Entry(path, basename(path), False, body.size, mtime)
            return io.BufferedReader(body, 1024 * 1024), entry  # type: ignore[return-value]
        try:
            with S3_ERRORS.translated(path):
                answer = self._client.get_object(Bucket=bucket, Key=key)
        except TransferError as exc:
            if exc.code is ErrorCode.NOT_FOUND and self.exists(path):
                raise TransferError(ErrorCode.IS_A_DIRECTORY, f"{path}: is a directory") from exc
            raise
        body = answer["Body"]
        raw = IteratorReader(
            body.iter_chunks(1024 * 1024), body.close, lambda e: S3_ERRORS(e, path)
        )
        mtime = answer["LastModified"].timestamp() if "LastModified" in answer else None
        entry = Entry(path, basename(path), False, int(answer["ContentLength"]), mtime)
        return io.BufferedReader(raw, 1024 * 1024), entry  # type: ignore[return-value]

    def open_write(self, path: str) -> BinaryIO:
        path = normpath(path)
        bucket, key = _split(path)
        if not key:
            raise TransferError(ErrorCode.IS_A_DIRECTORY, f"{path}: is a bucket")
        return MultipartWriter(self._client, bucket, key, path, self._checksums)  # type: ignore[return-value]

    def mkdir(self, path: str, parents: bool = True) -> None:
        path = normpath(path)
        if self._is_existing_dir(path):
            return
        bucket, key = _split(path)
        with S3_ERRORS.translated(path):
            if not key:
                kwargs: dict[str, Any] = {"Bucket": bucket}
                if self.region != "us-east-1":
                    kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
                self._client.create_bucket(**kwargs)
                return
            if not parents and not self.exists(parent(path)):
                raise TransferError(ErrorCode.NOT_FOUND, f"{parent(path)}: no such directory")
            if not self.exists(f"/{bucket}"):
                raise TransferError(ErrorCode.NOT_FOUND, f"/{bucket}: no such bucket")
            self._client.put_object(Bucket=bucket, Key=f"{key}/", Body=b"")

    def remove(self, path: str) -> None:
        entry = self.stat(path)
        bucket, key = _split(entry.path)
        with S3_ERRORS.translated(entry.path):
            if not entry.is_dir:
                self._client.delete_object(Bucket=bucket, Key=key)
                return
            if self._has_children(bucket, key, beyond_marker=True):
                raise TransferError(ErrorCode.NOT_EMPTY, f"{entry.path}: directory not empty")
            if key:
                self._client.delete_object(Bucket=bucket, Key=f"{key}/")
            else:
                self._client.delete_bucket(Bucket=bucket)

    def rename(self, src: str, dst: str) -> None:
        entry = self.stat(src)
        dst = normpath(dst)
        src_bucket, src_key = _split(entry.path)
        dst_bucket, dst_key = _split(dst)
        if not src_key or not dst_key:
            raise TransferError(ErrorCode.UNSUPPORTED, "buckets cannot be renamed")
        with S3_ERRORS.translated(entry.path):
            if entry.is_dir:
                if self._has_children(src_bucket, src_key, beyond_marker=True):
                    raise TransferError(
                        ErrorCode.UNSUPPORTED, "S3 has no rename for non-empty prefixes"
                    )
                self._client.put_object(Bucket=dst_bucket, Key=f"{dst_key}/", Body=b"")
                self._client.delete_object(Bucket=src_bucket, Key=f"{src_key}/")
                return
            # Server-side copy, then delete: S3's rename. One CopyObject up to its
            # 5 GiB limit (boto3's managed copy would HEAD the source again and
            # start a transfer manager's threads per call); multipart beyond.
            source = {"Bucket": src_bucket, "Key": src_key}
            if entry.size < SINGLE_COPY_LIMIT:
                self._client.copy_object(CopySource=source, Bucket=dst_bucket, Key=dst_key)
            else:
                self._client.copy(source, dst_bucket, dst_key)
            self._client.delete_object(Bucket=src_bucket, Key=src_key)

    def close(self) -> None:
        self._gets.close()
        if self._client_key is not None:
            key, self._client_key = self._client_key, None
            CLIENTS.release(key)
