"""The pure checks of a job's ``files`` (domain/file_lists.py)."""

from __future__ import annotations

import pytest

from haul.domain import file_lists
from haul.domain.file_lists import FileListError, TooManyFiles, parse, parse_checksum
from haul.domain.limits import MAX_FILES_PER_JOB


def test_checksums_are_normalised() -> None:
    assert parse_checksum("ADLER32:1A2B3C", "c") == "adler32:001a2b3c"
    assert parse_checksum("adler32:0x0a0b0c0d", "c") == "adler32:0a0b0c0d"
    assert parse_checksum("MD5:" + "A" * 32, "c") == "md5:" + "a" * 32
    with pytest.raises(FileListError, match="sha256 takes 64 hex digits"):
        parse_checksum("sha256:abc", "c")


def test_items_come_back_in_order_with_their_expectations() -> None:
    files = [
        {"src_filepath": "/a", "dst_filepath": "/x/a", "filesize": 3},
        {"src_filepath": "/b", "dst_filepath": "/x/b", "checksum": "md5:" + "0" * 32,
         "sources": [{"siteid": 4, "filepath": "/mirror/b"}]},
    ]
    out = list(parse(files, copy=True))
    assert [f.src_filepath for f in out] == ["/a", "/b"]
    assert out[0].expectation() == {"filesize": 3}
    assert out[1].expectation() == {"checksum": "md5:" + "0" * 32}
    assert out[1].sources == ((4, "/mirror/b"),)


def test_the_count_is_checked_before_any_item() -> None:
    with pytest.raises(TooManyFiles, match=f"at most {MAX_FILES_PER_JOB}"):
        file_lists.check_count([None] * (MAX_FILES_PER_JOB + 1))
    with pytest.raises(FileListError, match="the list is empty"):
        list(parse([], copy=False))
