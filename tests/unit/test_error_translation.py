"""The storage layer's error translation: the mechanism and each family's table.

Codes and messages here are what workers report and the server judges by
(retry or not), so each table's answers are pinned case by case.
"""

from __future__ import annotations

import errno
import socket
from types import SimpleNamespace

import asyncssh
import botocore.exceptions as bexc
import httpx
import pytest
import webdav4.client as wd

from haul.domain.errors import ErrorCode, ErrorScope, TransferError
from haul.storage._xrootd_status import translate as xrootd_translate
from haul.storage.error_translation import (
    OS_ERRORS,
    Rule,
    Translator,
    fixed,
    from_http_status,
    from_oserror,
)
from haul.storage.s3_errors import S3_ERRORS
from haul.storage.sftp_errors import SFTP_ERRORS
from haul.storage.webdav_errors import WEBDAV_ERRORS


class _Wrapped(Exception):
    def __init__(self, inner: object) -> None:
        super().__init__("wrapped")
        self.inner = inner


def test_first_answering_rule_wins_and_none_passes_on() -> None:
    table = Translator(
        [
            Rule(_Wrapped, lambda e, _p: e.inner if isinstance(e.inner, TransferError) else None),
            Rule(KeyError, fixed(ErrorCode.NOT_FOUND, "{where}missing {exc}")),
            Rule(LookupError, fixed(ErrorCode.INVALID)),
            Rule(Exception, fixed(ErrorCode.CONNECTION, "{path}|{kind}")),
        ]
    )
    assert table(KeyError("k"), "/a").code is ErrorCode.NOT_FOUND
    assert table(KeyError("k"), "/a").message == "/a: missing 'k'"
    assert table(KeyError("k")).message == "missing 'k'"  # no path, no "path: "
    assert table(IndexError("i"), "/a").code is ErrorCode.INVALID  # the next rule in order
    inner = TransferError(ErrorCode.PERMISSION_DENIED, "refused")
    assert table(_Wrapped(inner), "/a") is inner
    passed_on = table(_Wrapped("not an error"), "/a")  # None: the rules after it answer
    assert (passed_on.code, passed_on.message) == (ErrorCode.CONNECTION, "/a|_Wrapped")
    same = TransferError(ErrorCode.EXISTS, "x")
    assert table(same, "/a") is same


def test_fallback_is_internal_and_scope_is_transfer() -> None:
    err = Translator([])(RuntimeError("boom"), "/p")
    assert (err.code, err.scope, err.message) == (
        ErrorCode.INTERNAL,
        ErrorScope.TRANSFER,
        "/p: RuntimeError: boom",
    )
    assert err.retryable


def test_translated_converts_only_what_it_catches() -> None:
    with pytest.raises(TransferError) as caught, Translator([]).translated("/p"):
        raise ValueError("v")
    assert caught.value.code is ErrorCode.INTERNAL
    assert isinstance(caught.value.__cause__, ValueError)
    # The OS table converts OSError only: a bug elsewhere stays a bug.
    with pytest.raises(ValueError), OS_ERRORS.translated("/p"):
        raise ValueError("v")
    original = TransferError(ErrorCode.NOT_EMPTY, "kept")
    with pytest.raises(TransferError) as caught, OS_ERRORS.translated("/p"):
        raise original
    assert caught.value is original


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (FileNotFoundError(errno.ENOENT, "No such file or directory"), ErrorCode.NOT_FOUND),
        (PermissionError(errno.EACCES, "Permission denied"), ErrorCode.PERMISSION_DENIED),
        (OSError(errno.EROFS, "Read-only file system"), ErrorCode.PERMISSION_DENIED),
        (FileExistsError(errno.EEXIST, "File exists"), ErrorCode.EXISTS),
        (OSError(errno.ENOTDIR, "Not a directory"), ErrorCode.NOT_A_DIRECTORY),
        (IsADirectoryError(errno.EISDIR, "Is a directory"), ErrorCode.IS_A_DIRECTORY),
        (OSError(errno.ENOTEMPTY, "Directory not empty"), ErrorCode.NOT_EMPTY),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), ErrorCode.NO_SPACE),
        (OSError(errno.ECONNREFUSED, "Connection refused"), ErrorCode.CONNECTION),
        (OSError(errno.ENAMETOOLONG, "File name too long"), ErrorCode.INVALID),
        (OSError(errno.EOPNOTSUPP, "Not supported"), ErrorCode.UNSUPPORTED),
        # No errno: the subclass decides.
        (TimeoutError("slow"), ErrorCode.TIMEOUT),
        (ConnectionResetError("reset"), ErrorCode.CONNECTION),
        (socket.gaierror("no name"), ErrorCode.CONNECTION),
        (FileNotFoundError("gone"), ErrorCode.NOT_FOUND),
        (PermissionError("no"), ErrorCode.PERMISSION_DENIED),
        (OSError("odd"), ErrorCode.INTERNAL),
        (OSError(errno.EBADF, "Bad file descriptor"), ErrorCode.INTERNAL),
    ],
)
def test_oserror_table(exc: OSError, code: ErrorCode) -> None:
    assert from_oserror(exc, "/d/f").code is code


def test_oserror_message() -> None:
    exc = FileNotFoundError(errno.ENOENT, "No such file or directory")
    assert from_oserror(exc, "/d/f").message == "/d/f: No such file or directory"
    assert from_oserror(exc).message == "No such file or directory"
    assert from_oserror(OSError()).message == "OSError"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, ErrorCode.NO_CREDENTIAL),
        (403, ErrorCode.PERMISSION_DENIED),
        (404, ErrorCode.NOT_FOUND),
        (410, ErrorCode.NOT_FOUND),
        (405, ErrorCode.UNSUPPORTED),
        (501, ErrorCode.UNSUPPORTED),
        (409, ErrorCode.NOT_FOUND),
        (412, ErrorCode.EXISTS),
        (507, ErrorCode.NO_SPACE),
        (408, ErrorCode.TIMEOUT),
        (504, ErrorCode.TIMEOUT),
        (429, ErrorCode.CONNECTION),
        (502, ErrorCode.CONNECTION),
        (503, ErrorCode.CONNECTION),
        (500, ErrorCode.INTERNAL),
        (599, ErrorCode.INTERNAL),
        (400, ErrorCode.INVALID),
        (418, ErrorCode.INVALID),
    ],
)
def test_http_status_table(status: int, code: ErrorCode) -> None:
    err = from_http_status(status, "/x: why")
    assert (err.code, err.message) == (code, f"HTTP {status}: /x: why")


def _client_error(code: str, status: int = 0) -> bexc.ClientError:
    meta = {"HTTPStatusCode": status} if status else {}
    return bexc.ClientError(
        {"Error": {"Code": code, "Message": "said S3"}, "ResponseMetadata": meta}, "GetObject"
    )


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("NoSuchKey", 404, ErrorCode.NOT_FOUND),
        ("NoSuchBucket", 404, ErrorCode.NOT_FOUND),
        ("404", 404, ErrorCode.NOT_FOUND),
        ("InvalidAccessKeyId", 403, ErrorCode.NO_CREDENTIAL),
        ("SignatureDoesNotMatch", 403, ErrorCode.NO_CREDENTIAL),
        ("AccessDenied", 403, ErrorCode.PERMISSION_DENIED),
        ("BucketAlreadyOwnedByYou", 409, ErrorCode.EXISTS),
        ("SlowDown", 503, ErrorCode.CONNECTION),
        ("InternalError", 500, ErrorCode.CONNECTION),
        ("RequestTimeout", 400, ErrorCode.TIMEOUT),
        ("PreconditionFailed", 412, ErrorCode.EXISTS),  # not named: by the HTTP status
        ("Whatever", 0, ErrorCode.INTERNAL),  # neither a name nor a status
    ],
)
def test_s3_table(name: str, status: int, code: ErrorCode) -> None:
    assert S3_ERRORS(_client_error(name, status), "/b/k").code is code


def test_s3_messages_and_botocore_errors() -> None:
    assert S3_ERRORS(_client_error("NoSuchKey", 404), "/b/k").message == "/b/k: NoSuchKey said S3"
    by_status = S3_ERRORS(_client_error("Odd", 507), "/b/k")
    assert (by_status.code, by_status.message) == (
        ErrorCode.NO_SPACE,
        "HTTP 507: /b/k: Odd said S3",
    )
    refusal = TransferError(ErrorCode.PERMISSION_DENIED, "10.0.0.1: not allowed")
    assert S3_ERRORS(bexc.HTTPClientError(error=refusal), "/b/k") is refusal
    other = S3_ERRORS(bexc.HTTPClientError(error=ValueError("x")), "/b/k")
    assert other.code is ErrorCode.CONNECTION and other.message.startswith("/b/k: HTTPClientError")
    assert S3_ERRORS(bexc.NoCredentialsError(), "/b").code is ErrorCode.NO_CREDENTIAL
    timeout = bexc.ReadTimeoutError(endpoint_url="http://s3")
    assert S3_ERRORS(timeout, "/b").code is ErrorCode.TIMEOUT  # an HTTPClientError too
    assert S3_ERRORS(bexc.ConnectTimeoutError(endpoint_url="http://s3"), "/b").code is (
        ErrorCode.TIMEOUT
    )
    down = S3_ERRORS(bexc.EndpointConnectionError(endpoint_url="http://s3"), "/b")
    assert down.code is ErrorCode.CONNECTION and down.message.startswith("/b: Could not connect")
    assert S3_ERRORS(ConnectionResetError("reset"), "/b").message == "/b: reset"
    assert S3_ERRORS(OSError("disk"), "/b").message == "/b: OSError: disk"
    assert S3_ERRORS(KeyError("k"), "/b").code is ErrorCode.INTERNAL


def _response(status: int) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", "https://dav/x"))


def test_webdav_table() -> None:
    cases = [
        (wd.ResourceNotFound("/x"), ErrorCode.NOT_FOUND, "/x: not found"),
        (wd.ResourceAlreadyExists("/x"), ErrorCode.EXISTS, "/x: exists"),
        (wd.ResourceConflict("no parent"), ErrorCode.NOT_FOUND, None),
        (wd.IsACollectionError("/x", "c"), ErrorCode.IS_A_DIRECTORY, "/x: is a collection"),
        (wd.IsAResourceError("/x", "r"), ErrorCode.NOT_A_DIRECTORY, "/x: is not a collection"),
        (wd.ResourceLocked("locked"), ErrorCode.CONNECTION, "/x: locked"),
        (wd.HTTPError(_response(507)), ErrorCode.NO_SPACE, None),
        (
            httpx.HTTPStatusError("no", request=_response(401).request, response=_response(401)),
            ErrorCode.NO_CREDENTIAL,
            None,
        ),
        (httpx.ReadTimeout("slow"), ErrorCode.TIMEOUT, "/x: ReadTimeout: slow"),
        (httpx.ConnectError("refused"), ErrorCode.CONNECTION, "/x: ConnectError: refused"),
        (ConnectionResetError("reset"), ErrorCode.CONNECTION, None),
        (ValueError("bug"), ErrorCode.INTERNAL, "/x: ValueError: bug"),
    ]
    for exc, code, message in cases:
        err = WEBDAV_ERRORS(exc, "/x")
        assert err.code is code, exc
        if message is not None:
            assert err.message == message
    assert WEBDAV_ERRORS(wd.HTTPError(_response(507)), "/x").message.startswith("HTTP 507: /x: ")


def test_sftp_table() -> None:
    cases = [
        (asyncssh.SFTPError(asyncssh.FX_NO_SUCH_FILE, "No such file"), ErrorCode.NOT_FOUND),
        (asyncssh.SFTPError(asyncssh.FX_PERMISSION_DENIED, "no"), ErrorCode.PERMISSION_DENIED),
        (asyncssh.SFTPError(asyncssh.FX_FAILURE, "Failure"), ErrorCode.INTERNAL),
        (asyncssh.SFTPError(asyncssh.FX_OP_UNSUPPORTED, "no"), ErrorCode.UNSUPPORTED),
        (asyncssh.SFTPError(asyncssh.FX_QUOTA_EXCEEDED, "full"), ErrorCode.NO_SPACE),
        (asyncssh.PermissionDenied("auth failed"), ErrorCode.NO_CREDENTIAL),
        (asyncssh.HostKeyNotVerifiable("bad key"), ErrorCode.PERMISSION_DENIED),
        (TimeoutError(), ErrorCode.TIMEOUT),
        (asyncssh.ConnectionLost("gone"), ErrorCode.CONNECTION),
        (EOFError(), ErrorCode.CONNECTION),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), ErrorCode.CONNECTION),
        (RuntimeError("bug"), ErrorCode.INTERNAL),
    ]
    for exc, code in cases:
        assert SFTP_ERRORS(exc, "/f").code is code, exc
    assert SFTP_ERRORS(
        asyncssh.SFTPError(asyncssh.FX_NO_SUCH_FILE, "No such file"), "/f"
    ).message == ("/f: No such file")
    assert SFTP_ERRORS(TimeoutError()).message == "timed out"
    host_key = SFTP_ERRORS(asyncssh.HostKeyNotVerifiable("bad key"), "h:22")
    assert not host_key.retryable and host_key.message == "h:22: SSH host key not accepted: bad key"
    assert SFTP_ERRORS(RuntimeError("bug"), "/f").message == "/f: RuntimeError: bug"


def _status(code: int, errno_: int = 0, message: str = "m") -> SimpleNamespace:
    return SimpleNamespace(ok=False, code=code, errno=errno_, message=message)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (_status(400, 3011), ErrorCode.NOT_FOUND),
        (_status(400, 3010), ErrorCode.PERMISSION_DENIED),
        (_status(400, 3016), ErrorCode.IS_A_DIRECTORY),
        (_status(400, 3030), ErrorCode.NO_CREDENTIAL),
        (_status(400, 3999), ErrorCode.INTERNAL),
        (_status(206), ErrorCode.TIMEOUT),
        (_status(304), ErrorCode.NOT_FOUND),
        (_status(101), ErrorCode.CONNECTION),
        (_status(999), ErrorCode.INTERNAL),
    ],
)
def test_xrootd_table(status: SimpleNamespace, code: ErrorCode) -> None:
    err = xrootd_translate(status, "/f")
    assert (err.code, err.message) == (code, "/f: m")
