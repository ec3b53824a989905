"""The error report: one parser (protocol.error_report.ErrorReport), its rules, its refusals."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from haul.domain.errors import ErrorCode, ErrorScope, TransferError
from haul.protocol.error_report import NO_DETAILS, ErrorReport
from haul.protocol.results import BulkResult, ResultBody
from haul.server.errors import describe_validation
from haul.server.routers.worker import _items


def test_a_transfer_error_round_trips_through_the_report() -> None:
    err = TransferError(
        ErrorCode.CHECKSUM_MISMATCH, "adler32 differs", scope=ErrorScope.SOURCE, retryable=False
    )
    report = ErrorReport.model_validate(err.to_dict())
    assert (report.code, report.scope) == (ErrorCode.CHECKSUM_MISMATCH, ErrorScope.SOURCE)
    assert report.as_dict() == err.to_dict() == {
        "code": "CHECKSUM_MISMATCH",
        "scope": "SOURCE",
        "retryable": False,
        "message": "adler32 differs",
    }
    assert repr(TransferError.from_dict(dict(report.as_dict()))) == repr(err)


def test_the_report_is_read_as_the_server_always_read_it() -> None:
    read = ErrorReport.model_validate
    assert read({"code": "timeout", "scope": "destination"}).as_dict() == {
        "code": "TIMEOUT", "scope": "DESTINATION", "retryable": True, "message": "",
    }  # fmt: skip
    empty = read({"code": "", "scope": ""})
    assert (empty.code, empty.scope) == (ErrorCode.INTERNAL, ErrorScope.TRANSFER)
    # A newer worker's code is kept (and retryable unless it says otherwise).
    newer = read({"code": "quota_exceeded"})
    assert newer.code == "QUOTA_EXCEEDED" and newer.retryable
    assert len(read({"message": "x" * 5000}).message) == 4000
    assert read({"code": "cancelled"}).as_dict()["retryable"]  # as sent: the default is True
    assert NO_DETAILS.as_dict() == {
        "code": "INTERNAL",
        "scope": "TRANSFER",
        "retryable": True,
        "message": "the worker reported a failure without details",
    }


def _result(error: Any) -> dict[str, Any]:
    return {"jobid": 3, "elementid": 4, "token": "t", "returncode": 1, "error": error}


@pytest.mark.parametrize(
    ("error", "code", "detail"),
    [
        ({"scope": "UPSTREAM"}, 400, "error.scope: expected SOURCE, DESTINATION or TRANSFER"),
        ({"retryable": "perhaps"}, 422, "error.retryable: "),
        ({"code": 7}, 422, "error.code: "),
        ("disk full", 422, "error: "),
    ],
)
def test_a_bad_report_is_refused_on_its_own_naming_the_field(
    error: Any, code: int, detail: str
) -> None:
    good = _result({"code": "NOT_FOUND", "scope": "SOURCE"}) | {"elementid": 5}
    items, answers = _items(BulkResult, [_result(error), good])
    assert items[0] is None and items[1] is not None
    assert items[1].error is not None and items[1].error.code == ErrorCode.NOT_FOUND
    assert answers[1] is None  # left for the service to answer
    assert answers[0]["jobid"] == 3 and answers[0]["elementid"] == 4
    assert answers[0]["code"] == code and answers[0]["detail"].startswith(detail), answers[0]


def test_the_single_route_refuses_a_bad_scope_with_400_naming_it() -> None:
    with pytest.raises(ValidationError) as caught:
        ResultBody.model_validate({"token": "t", "returncode": 1, "error": {"scope": "up"}})
    errors = [{**e, "loc": ("body", *e["loc"])} for e in caught.value.errors()]
    assert describe_validation(errors) == (
        400,
        "error.scope: expected SOURCE, DESTINATION or TRANSFER",
    )
