"""S3 answers' timestamps: the fast parser agrees with botocore's own."""

from __future__ import annotations

import pytest
from botocore.utils import parse_timestamp

from haul.storage._s3_timestamps import timestamp


@pytest.mark.parametrize(
    "value",
    [
        "2026-12-01T21:00:00.000Z",  # ListObjectsV2 <LastModified>
        "2026-12-01T21:00:00Z",
        "2026-12-01T21:00:00.123456+02:00",
        "Tue, 01 Dec 2026 21:00:00 GMT",  # a GET's Last-Modified header
        "Mon, 29 Feb 2027 00:00:00 GMT",  # not a date: both refuse it
        "1700000000",  # epoch seconds: botocore's parser still answers
        "2026-12-01T21:00:00",  # no zone: botocore answers it naive, so does this
    ],
)
def test_same_answer_as_botocore(value: str) -> None:
    try:
        expected = parse_timestamp(value)
    except ValueError:
        with pytest.raises(ValueError):
            timestamp(value)
        return
    got = timestamp(value)
    assert got == expected
    assert (got.tzinfo is None) == (expected.tzinfo is None)
