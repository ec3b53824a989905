"""Submitting jobs that list their files (issue 13): every refusal, and size.

Over HTTP against the shared live server, on SQLite and (with
HAUL_TEST_POSTGRES_URL) PostgreSQL. The copies themselves run in
tests/engine/test_file_lists.py.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.harness import ServerProcess, User
from tests.integration.api import W

MAX_FILES = 100_000


@pytest.fixture(scope="module")
def alice(server: ServerProcess) -> User:
    return server.new_user()


@pytest.fixture(scope="module")
def sites(alice: User) -> tuple[int, int]:
    return alice.site(endpoints=["dummy://lists-a/"]), alice.site(endpoints=["dummy://lists-b/"])


def post(alice: User, route: str, body: dict[str, Any]) -> httpx.Response:
    with alice.client() as c:
        c.timeout = 120
        return c.post(f"{W}/{route}", json=body)


def pairs(n: int, prefix: str = "") -> list[dict[str, Any]]:
    return [
        {"src_filepath": f"/in/{prefix}f{i}", "dst_filepath": f"/out/{prefix}d{i % 50}/f{i}"}
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("files", "extra", "detail"),
    [
        ([], {}, "files: the list is empty"),
        ([{"dst_filepath": "/x"}], {}, "files[0].src_filepath: field required"),
        ([{"src_filepath": "/a", "dst_filepath": "/x"}, {"src_filepath": "/b"}], {},
         "files[1].dst_filepath: field required"),
        ([{"src_filepath": "/a", "dst_filepath": "/x"},
          {"src_filepath": "/b", "dst_filepath": "/x"}],
         {}, "files[1]: two files have the same destination '/x'"),
        ([{"src_filepath": "/a", "dst_filepath": "/x", "checksum": "crc99:abcd"}], {},
         "files[0].checksum: unknown algorithm 'crc99'"),
        ([{"src_filepath": "/a", "dst_filepath": "/x", "checksum": "md5:xyz"}], {},
         "files[0].checksum: md5 takes 32 hex digits"),
        ([{"src_filepath": "/a", "dst_filepath": "/x", "checksum": "adler32"}], {},
         "files[0].checksum: must be 'ALGO:HEX'"),
        ([{"src_filepath": "/a", "dst_filepath": "/x", "filesize": -1}], {},
         "files[0].filesize: must be a whole number"),
        ([{"src_filepath": "", "dst_filepath": "/x"}], {}, "files[0].src_filepath"),
        ([{"src_filepath": "/a\u202e", "dst_filepath": "/x"}], {}, "files[0].src_filepath"),
        ([{"src_filepath": "/a", "dst_filepath": "/x"}], {"src_filepath": "/a"},
         "files: give either files or src_filepath/dst_filepath, not both"),
        (["/a"], {}, "files[0]: must be an object"),
    ],
)
def test_a_bad_file_list_is_refused_naming_the_field_and_index(
    alice: User, sites: tuple[int, int], files: Any, extra: dict[str, Any], detail: str
) -> None:
    src, dst = sites
    r = post(alice, "copy", {"src_siteid": src, "dst_siteid": dst, "files": files, **extra})
    assert r.status_code == 400, r.text
    assert r.json()["detail"].startswith(detail), r.text


def test_file_lists_are_for_copy_and_remove_only(alice: User, sites: tuple[int, int]) -> None:
    src, dst = sites
    r = post(alice, "copy", {"src_siteid": src, "dst_siteid": dst, "files": "nope"})
    assert r.status_code == 422 and r.json()["detail"].startswith("files: "), r.text
    for route in ("rename", "mkdir", "list"):
        r = post(alice, route, {"src_siteid": src, "files": [{"src_filepath": "/a"}]})
        assert r.status_code == 400, r.text
        assert "only COPY and REMOVE take a list of files" in r.json()["detail"]
    r = post(alice, "remove", {"src_siteid": src, "files": [{"src_filepath": "/a",
                                                              "dst_filepath": "/b"}]})
    assert r.status_code == 400
    assert r.json()["detail"] == "files[0].dst_filepath: a REMOVE lists only src_filepath"
    r = post(alice, "remove", {"src_siteid": src, "files": [{"src_filepath": "/a"},
                                                             {"src_filepath": "/a"}]})
    assert r.status_code == 400 and "same path '/a'" in r.json()["detail"]


def test_a_refused_list_leaves_no_job_behind(alice: User, sites: tuple[int, int]) -> None:
    src, dst = sites
    with alice.client() as c:
        before = c.get(f"{W}/jobs").headers["X-Total-Count"]
        files = pairs(6000) + [{"src_filepath": "/late"}]  # the bad one after the first batch
        r = c.post(f"{W}/copy", json={"src_siteid": src, "dst_siteid": dst, "files": files})
        assert r.status_code == 400 and r.json()["detail"].startswith("files[6000].dst_filepath")
        assert c.get(f"{W}/jobs").headers["X-Total-Count"] == before


def test_twenty_thousand_files_in_one_request(alice: User, sites: tuple[int, int]) -> None:
    src, dst = sites
    files = pairs(20_000)
    files[7]["checksum"] = "ADLER32:1A2B3C"  # normalised: lower case, 8 digits
    files[8]["filesize"] = 123
    started = time.monotonic()
    r = post(alice, "jobs", {"type": "COPY", "src_siteid": src, "dst_siteid": dst,
                             "files": files, "priority": 3})
    assert r.status_code == 200, r.text
    took = time.monotonic() - started
    job = r.json()
    assert job["num_elements"] == 20_000 and job["num_new"] == 20_000, job
    assert job["type"] == "COPY" and job["src_filepath"] is None
    with alice.client() as c:
        rows = c.get(f"{W}/jobs/{job['id']}/elements", params={"limit": 10, "offset": 5}).json()
    assert [e["src_filepath"] for e in rows] == [f"/in/f{i}" for i in range(5, 15)]
    assert rows[3]["size"] == 123  # files[8]'s filesize
    print(f"20,000 files accepted in {took:.1f} s")


def test_more_files_than_allowed_is_a_413_that_says_how_many(
    alice: User, sites: tuple[int, int]
) -> None:
    src, dst = sites
    files = [{"src_filepath": "/a", "dst_filepath": f"/{i}"} for i in range(MAX_FILES + 1)]
    r = post(alice, "copy", {"src_siteid": src, "dst_siteid": dst, "files": files})
    assert r.status_code == 413, r.text[:300]
    assert f"at most {MAX_FILES}" in r.json()["detail"]


def test_replicas_must_be_sites_the_submitter_may_use(
    server: ServerProcess, alice: User, sites: tuple[int, int]
) -> None:
    src, dst = sites
    private = server.new_user().site(endpoints=["dummy://someone-elses/"])
    one = {"src_filepath": "/a", "dst_filepath": "/x"}
    for sources, detail in [
        ([{"siteid": private, "filepath": "/a"}], "files[0].sources[0].siteid"),
        ([{"siteid": src}], "files[0].sources[0].filepath: field required"),
        ("nope", "files[0].sources: must be a non-empty list"),
        ([{"siteid": src, "filepath": "/b"}] * 11, "files[0].sources: at most 10"),
    ]:
        r = post(alice, "copy", {"src_siteid": src, "dst_siteid": dst,
                                 "files": [one | {"sources": sources}]})
        assert r.status_code == 400, r.text
        assert r.json()["detail"].startswith(detail), r.text
    r = post(alice, "remove", {"src_siteid": src, "files": [
        {"src_filepath": "/a", "sources": [{"siteid": src, "filepath": "/b"}]}]})
    assert r.status_code == 400 and "a REMOVE lists only src_filepath" in r.json()["detail"]
    r = post(alice, "copy", {"src_siteid": src, "dst_siteid": dst, "files": [
        one | {"sources": [{"siteid": dst, "filepath": "/elsewhere/a"}]}]})
    assert r.status_code == 200, r.text
