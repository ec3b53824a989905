"""SigV4 query signatures (storage/s3_presign.py): byte for byte what botocore makes.

moto does not check presigned signatures, so a wrong one would still download
there; the check is against botocore's own signer (`S3SigV4QueryAuth`, what
`generate_presigned_url` uses) at the same second, for awkward keys, tokens,
hosts and a change of day (end to end against moto, the very URL botocore
presigns: tests/storage/test_s3_get.py).
"""

from __future__ import annotations

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode

from haul.storage.s3_presign import EXPIRES_SECONDS, QuerySigner
from haul.storage.schemes import open_storage
from tests.servers.fixtures import S3_BUCKET, StorageServer

NOON = datetime.datetime(2026, 12, 3, 12, 34, 56, tzinfo=datetime.UTC)


def _botocore_query(
    monkeypatch: pytest.MonkeyPatch,
    when: datetime.datetime,
    url: str,
    keys: tuple[str, str, str | None],
    region: str,
) -> str:
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: when.replace(tzinfo=None))
    request = AWSRequest(method="GET", url=url)
    S3SigV4QueryAuth(Credentials(*keys), "s3", region, expires=EXPIRES_SECONDS).add_auth(request)
    return urlsplit(str(request.url)).query


@pytest.mark.parametrize(
    ("host", "key", "token", "region"),
    [
        ("127.0.0.1:9000", "d/f0", None, "us-east-1"),
        ("s3.eu-west-2.amazonaws.com", "a b/ü+x=y&z~.bin", None, "eu-west-2"),
        ("[::1]:9443", "deep/dir/%41 %2F/x", "FQoG/ab+cd==", "us-east-1"),
        ("minio.example.org", "only", "tok en/+=", "ap-southeast-2"),
    ],
)
def test_the_query_is_botocores_for_the_same_request_and_second(
    monkeypatch: pytest.MonkeyPatch, host: str, key: str, token: str | None, region: str
) -> None:
    keys = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    path = "/bucket/" + percent_encode(key, safe="/~")
    signer = QuerySigner(*keys, region, clock=NOON.timestamp)

    ours = signer.query(host, path)

    assert ours == _botocore_query(monkeypatch, NOON, f"https://{host}{path}", keys, region)
    fields = parse_qs(ours)
    assert fields["X-Amz-Credential"] == [f"AKIDEXAMPLE/20261203/{region}/s3/aws4_request"]
    assert fields["X-Amz-Expires"] == [str(EXPIRES_SECONDS)]
    assert ("X-Amz-Security-Token" in fields) is (token is not None)


def test_the_signing_key_follows_the_day(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = ("AKID", "secret", None)
    now = [NOON]
    signer = QuerySigner(*keys, "us-east-1", clock=lambda: now[0].timestamp())
    first = signer.query("h:1", "/b/k")
    now[0] = NOON + datetime.timedelta(days=1)
    second = signer.query("h:1", "/b/k")

    assert first == _botocore_query(monkeypatch, NOON, "http://h:1/b/k", keys, "us-east-1")
    assert second == _botocore_query(monkeypatch, now[0], "http://h:1/b/k", keys, "us-east-1")
    assert "20261204" in second and "20261203" not in second


def test_a_bucket_whose_urls_do_not_end_in_the_key_stays_with_botocores_urls(
    s3_server: StorageServer,
) -> None:
    storage = open_storage(s3_server.endpoint_url, s3_server.credential)
    storage._client.put_object(Bucket=S3_BUCKET, Key="q/a.bin", Body=b"a")
    storage._client.put_object(Bucket=S3_BUCKET, Key="q/b.bin", Body=b"b")
    gets = storage._gets
    gets._where[S3_BUCKET] = None  # as if the first URL had not ended in its key

    with storage.open_read(f"/{S3_BUCKET}/q/b.bin") as stream:
        assert stream.read() == b"b"
    found = gets._target(S3_BUCKET, "q/a.bin")
    assert found is not None and found[0].prefix == ""
    assert found[1].startswith(f"/{S3_BUCKET}/q/a.bin?") and "X-Amz-Signature=" in found[1]
    assert gets._where[S3_BUCKET] is None  # not learnt afterwards either


def test_an_unsigned_bucket_s_later_keys_carry_no_query(s3_server: StorageServer) -> None:
    unsigned = open_storage(s3_server.endpoint_url, {})
    gets = unsigned._gets
    first = gets._target(S3_BUCKET, "u/one")
    second = gets._target(S3_BUCKET, "u/two words")
    assert first is not None and second is not None
    assert "X-Amz" not in first[1]
    assert second[1] == f"/{S3_BUCKET}/u/two%20words"


def test_the_signature_is_of_the_keys_it_is_given() -> None:
    # The lease's credential is the only identity: the same signer with other
    # keys answers another signature, and nothing is read from the environment.
    a = QuerySigner("AKID", "one", None, "us-east-1", clock=NOON.timestamp)
    b = QuerySigner("AKID", "two", None, "us-east-1", clock=NOON.timestamp)
    assert a.query("h", "/b/k") != b.query("h", "/b/k")
    assert a.query("h", "/b/k") == a.query("h", "/b/k")
