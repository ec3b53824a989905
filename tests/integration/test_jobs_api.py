"""Seed 000's job API over HTTP against a live server, on SQLite and PostgreSQL.

Every route of ``/workqueue/api/v1.0`` that seed 000 documents, with its
documented fields, the enum and route-type rules, validation (never a 500),
ownership (another user's job is a 404 everywhere) and authentication.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.harness import ServerProcess, User
from tests.integration.api import (
    COUNT_FIELDS,
    ScriptedWorker,
    W,
    check_element,
    check_job,
    check_output,
)

# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def alice(server: ServerProcess) -> User:
    return server.new_user()


@pytest.fixture(scope="module")
def bob(server: ServerProcess) -> User:
    return server.new_user()


@pytest.fixture(scope="module")
def site(alice: User) -> int:
    return alice.site(endpoints=["dummy://alice/"])


@pytest.fixture(scope="module")
def site2(alice: User) -> int:
    return alice.site(endpoints=["dummy://alice2/"])


@pytest.fixture()
def ac(alice: User) -> Iterator[httpx.Client]:
    with alice.client() as c:
        yield c


def submit(c: httpx.Client, route: str, body: dict[str, Any]) -> dict[str, Any]:
    r = c.post(f"{W}/{route}", json=body)
    assert r.status_code == 200, r.text
    job = r.json()
    check_job(job)
    return job


# ------------------------------------------------------------ submit + read


def test_post_list_returns_the_seed_shape(ac: httpx.Client, alice: User, site: int) -> None:
    job = submit(ac, "list", {"src_siteid": site, "src_filepath": "somefile"})
    assert job["type"] == "LIST"
    assert job["user_id"] == alice.id
    assert job["src_siteid"] == site
    assert job["src_filepath"] == "somefile"
    assert job["dst_siteid"] is None and job["dst_filepath"] is None
    assert job["status"] == "NEW"
    assert job["priority"] == 5
    assert job["max_tries"] == 2
    assert job["protocol"] == "DUMMY"
    assert job["extra_opts"] == {"depth": 1}


def test_post_jobs_with_type_as_numeric_string_like_the_seed(ac: httpx.Client, site: int) -> None:
    job = submit(ac, "jobs", {"src_siteid": site, "src_filepath": "somefile", "type": "0"})
    assert job["type"] == "LIST"


@pytest.mark.parametrize(
    ("given", "name"),
    [(0, "LIST"), ("0", "LIST"), ("list", "LIST"), ("List", "LIST"), (2, "REMOVE"),
     ("remove", "REMOVE"), ("4", "MKDIR"), ("mKdIr", "MKDIR"), ("LIST", "LIST")],
)
def test_post_jobs_accepts_enum_ints_and_names_any_case(
    ac: httpx.Client, site: int, given: Any, name: str
) -> None:
    job = submit(ac, "jobs", {"src_siteid": site, "src_filepath": "/d", "type": given})
    assert job["type"] == name


@pytest.mark.parametrize("given", [1, "1", "copy", "COPY", "Copy"])
def test_post_jobs_copy_by_int_or_name(
    ac: httpx.Client, site: int, site2: int, given: Any
) -> None:
    job = submit(ac, "jobs", {"src_siteid": site, "dst_siteid": site2, "src_filepath": "/a",
                              "dst_filepath": "/b", "type": given})
    assert job["type"] == "COPY"
    assert job["dst_siteid"] == site2


@pytest.mark.parametrize("given", [2, "2", "dummy", "DUMMY", "Dummy"])
def test_protocol_accepted_as_int_or_name(ac: httpx.Client, site: int, given: Any) -> None:
    job = submit(ac, "list", {"src_siteid": site, "src_filepath": "/", "protocol": given})
    assert job["protocol"] == "DUMMY"


def test_protocol_the_site_does_not_speak_is_refused(ac: httpx.Client, site: int) -> None:
    r = ac.post(f"{W}/list", json={"src_siteid": site, "src_filepath": "/", "protocol": "SSH"})
    assert r.status_code == 400
    assert "protocol" in r.json()["detail"]


@pytest.mark.parametrize(
    ("route", "body_type", "expected"),
    [("list", "COPY", "LIST"), ("list", 1, "LIST"), ("remove", "LIST", "REMOVE"),
     ("mkdir", 0, "MKDIR"), ("mkdir", "rename", "MKDIR"), ("remove", 4, "REMOVE")],
)
def test_route_type_wins_over_body_type(
    ac: httpx.Client, site: int, route: str, body_type: Any, expected: str
) -> None:
    job = submit(ac, route, {"src_siteid": site, "src_filepath": "/x", "type": body_type})
    assert job["type"] == expected
    r = ac.get(f"{W}/jobs/{job['id']}")
    assert r.json()["type"] == expected


def test_copy_route(ac: httpx.Client, site: int, site2: int) -> None:
    job = submit(ac, "copy", {"src_siteid": site, "dst_siteid": site2,
                              "src_filepath": "somefile", "dst_filepath": "someotherfile"})
    assert (job["type"], job["src_siteid"], job["dst_siteid"]) == ("COPY", site, site2)
    assert (job["src_filepath"], job["dst_filepath"]) == ("somefile", "someotherfile")
    assert job["extra_opts"] == {
        "overwrite": False,
        "checksum": "adler32",
        "verify": True,
        "follow_links": False,
    }
    # The first element of a COPY is the LIST that precedes it.
    e = ac.get(f"{W}/jobs/{job['id']}/elements/0").json()
    assert (e["id"], e["type"], e["src_filepath"]) == (0, "LIST", "somefile")


def test_copy_within_one_site(ac: httpx.Client, site: int) -> None:
    job = submit(ac, "copy", {"src_siteid": site, "dst_siteid": site, "src_filepath": "/a",
                              "dst_filepath": "/b"})
    assert job["dst_siteid"] == site


def test_remove_route(ac: httpx.Client, site: int) -> None:
    job = submit(ac, "remove", {"src_siteid": site, "src_filepath": "somefile"})
    assert job["type"] == "REMOVE" and job["dst_siteid"] is None


def test_rename_route_stays_on_its_source_site(ac: httpx.Client, site: int) -> None:
    job = submit(ac, "rename", {"src_siteid": site, "src_filepath": "somefile",
                                "dst_filepath": "someotherfile"})
    assert job["type"] == "RENAME"
    assert job["dst_siteid"] == site
    assert job["dst_filepath"] == "someotherfile"
    same = submit(ac, "rename", {"src_siteid": site, "dst_siteid": site, "src_filepath": "/a",
                                 "dst_filepath": "/b"})
    assert same["dst_siteid"] == site


def test_rename_to_another_site_is_refused(ac: httpx.Client, site: int, site2: int) -> None:
    r = ac.post(f"{W}/rename", json={"src_siteid": site, "dst_siteid": site2,
                                     "src_filepath": "/a", "dst_filepath": "/b"})
    assert r.status_code == 400
    assert "dst_siteid" in r.json()["detail"]


def test_mkdir_route(ac: httpx.Client, site: int) -> None:
    job = submit(ac, "mkdir", {"src_siteid": site, "src_filepath": "~/somedir"})
    assert job["type"] == "MKDIR"
    assert job["src_filepath"] == "~/somedir"
    e = ac.get(f"{W}/jobs/{job['id']}/elements/0").json()
    assert (e["type"], e["src_filepath"]) == ("MKDIR", "~/somedir")


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("copy", {"dst_filepath": "/b"}, "dst_siteid"),
        ("copy", {"dst_siteid": "SITE"}, "dst_filepath"),
        ("rename", {}, "dst_filepath"),
        ("jobs", {"type": "COPY", "dst_filepath": "/b"}, "dst_siteid"),
        ("jobs", {"type": 3}, "dst_filepath"),
    ],
)
def test_copy_and_rename_need_their_destination(
    ac: httpx.Client, site: int, route: str, body: dict[str, Any], field: str
) -> None:
    body = {k: (site if v == "SITE" else v) for k, v in body.items()}
    r = ac.post(f"{W}/{route}", json={"src_siteid": site, "src_filepath": "/a", **body})
    assert r.status_code == 400, r.text
    assert field in r.json()["detail"]


def test_server_owned_fields_are_ignored_on_input(
    ac: httpx.Client, alice: User, bob: User, site: int
) -> None:
    job = submit(ac, "list", {
        "src_siteid": site, "src_filepath": "/x", "id": 987654, "user_id": bob.id,
        "log_uid": "client-chosen", "attempts": 7, "status": "DONE",
    })
    assert job["id"] != 987654
    assert job["user_id"] == alice.id
    assert job["log_uid"] != "client-chosen"
    assert job["status"] == "NEW"
    e = ac.get(f"{W}/jobs/{job['id']}/elements/0").json()
    assert e["attempts"] == 0 and e["status"] == "NEW"
    with bob.client() as bc:
        assert bc.get(f"{W}/jobs/{job['id']}").status_code == 404


@pytest.mark.parametrize("priority", [0, 1, 5, 9])
def test_priority_range(ac: httpx.Client, site: int, priority: int) -> None:
    job = submit(ac, "list", {"src_siteid": site, "src_filepath": "/", "priority": priority})
    assert job["priority"] == priority


@pytest.mark.parametrize("priority", [-1, 10, 100])
def test_priority_out_of_range(ac: httpx.Client, site: int, priority: int) -> None:
    r = ac.post(f"{W}/list", json={"src_siteid": site, "src_filepath": "/", "priority": priority})
    assert r.status_code == 400
    assert "priority" in r.json()["detail"]


def test_max_tries_default_and_given(ac: httpx.Client, site: int) -> None:
    job = submit(ac, "list", {"src_siteid": site, "src_filepath": "/"})
    e = ac.get(f"{W}/jobs/{job['id']}/elements/0").json()
    assert e["max_tries"] == 2
    job = submit(ac, "list", {"src_siteid": site, "src_filepath": "/", "max_tries": 5})
    assert job["max_tries"] == 5
    assert ac.get(f"{W}/jobs/{job['id']}/elements/0").json()["max_tries"] == 5
    r = ac.post(f"{W}/list", json={"src_siteid": site, "src_filepath": "/", "max_tries": 0})
    assert r.status_code == 400 and "max_tries" in r.json()["detail"]


def test_extra_opts_validated(ac: httpx.Client, site: int) -> None:
    job = submit(ac, "list", {"src_siteid": site, "src_filepath": "/", "extra_opts": {"depth": 3}})
    assert job["extra_opts"] == {"depth": 3}
    r = ac.post(f"{W}/list", json={"src_siteid": site, "src_filepath": "/",
                                   "extra_opts": {"overwrite": True}})
    assert r.status_code == 400
    assert "extra_opts.overwrite" in r.json()["detail"]


def test_get_job_status_and_element_routes(ac: httpx.Client, site: int) -> None:
    job = submit(ac, "list", {"src_siteid": site, "src_filepath": "/data"})
    jid = job["id"]
    got = ac.get(f"{W}/jobs/{jid}").json()
    check_job(got)
    assert {k: got[k] for k in job if k != "status"} == {k: job[k] for k in job if k != "status"}

    assert ac.get(f"{W}/jobs/{jid}/status").json() == {"jobid": jid, "status": "NEW"}

    r = ac.get(f"{W}/jobs/{jid}/elements")
    assert r.status_code == 200
    assert r.headers["X-Total-Count"] == "1"
    (element,) = r.json()
    check_element(element)
    assert element["id"] == 0 and element["job_id"] == jid
    assert element["type"] == "LIST" and element["status"] == "NEW"
    assert element["src_filepath"] == "/data"
    assert element["attempts"] == 0 and element["max_tries"] == 2

    one = ac.get(f"{W}/jobs/{jid}/elements/0").json()
    check_element(one)
    assert one == element
    assert ac.get(f"{W}/jobs/{jid}/elements/0/status").json() == {
        "jobid": jid, "elementid": 0, "status": "NEW", "attempts": 0,
    }
    # Nothing ran yet: no output.
    assert ac.get(f"{W}/jobs/{jid}/output").json() == []
    assert ac.get(f"{W}/jobs/{jid}/elements/0/output").status_code == 404
    assert ac.get(f"{W}/jobs/{jid}/elements/0/output/1").status_code == 404
    assert ac.get(f"{W}/jobs/{jid}/elements/0/output/-1").status_code == 404


def test_a_write_is_visible_as_soon_as_it_is_answered(ac: httpx.Client, site: int) -> None:
    """The transaction commits before the response leaves (no read-after-write gap)."""
    for _ in range(60):
        job = submit(ac, "list", {"src_siteid": site, "src_filepath": "/raw"})
        r = ac.get(f"{W}/jobs/{job['id']}/status")
        assert r.status_code == 200, r.text


def test_unknown_job_and_element_are_404(ac: httpx.Client, site: int) -> None:
    job = submit(ac, "list", {"src_siteid": site, "src_filepath": "/"})
    for path in [
        "/jobs/999999", "/jobs/999999/status", "/jobs/999999/elements", "/jobs/999999/output",
        f"/jobs/{job['id']}/elements/5", f"/jobs/{job['id']}/elements/5/status",
        f"/jobs/{job['id']}/elements/5/output", f"/jobs/{job['id']}/elements/5/output/1",
        "/jobs/-1", "/jobs/2147483647",
    ]:
        r = ac.get(W + path)
        assert r.status_code in (404, 422), (path, r.status_code)
        assert isinstance(r.json()["detail"], str)


@pytest.mark.parametrize("path", [
    f"/jobs/{2**31}", f"/jobs/{2**70}", f"/jobs/1/elements/{2**64}",
    f"/jobs/1/elements/0/output/{2**65}", f"/jobs/1/elements/0/output/{-2**65}",
    f"/jobs?offset={2**70}", f"/jobs/1/elements?offset={2**70}", "/jobs/abc", "/jobs/1.5",
])
def test_out_of_range_ids_are_bad_input_not_500(ac: httpx.Client, path: str) -> None:
    r = ac.get(W + path)
    assert r.status_code in (404, 422), (path, r.status_code, r.text)
    assert isinstance(r.json()["detail"], str)


def test_huge_ids_on_every_route_are_never_500(server: ServerProcess) -> None:
    """Every route with an id in its path, any method: bad input, not a crash."""
    with server.admin() as c:
        spec = c.get("/openapi.json").json()
        tried = 0
        for template, ops in spec["paths"].items():
            if "{" not in template:
                continue
            for method in ops:
                for huge in (2**31, 2**64, 2**80):
                    path = re.sub(r"\{\w+\}", str(huge), template)
                    r = c.request(method.upper(), path, json={})
                    assert r.status_code < 500, (method, path, r.status_code, r.text)
                    tried += 1
        assert tried > 30


# -------------------------------------------------------- GET /jobs listing


def test_get_jobs_counts_filters_and_total(server: ServerProcess) -> None:
    user = server.new_user()
    s = user.site()
    with user.client() as c:
        r = c.get(f"{W}/jobs")
        assert r.status_code == 200 and r.json() == []
        assert r.headers["X-Total-Count"] == "0"
        ids = [
            submit(c, "list", {"src_siteid": s, "src_filepath": "/1"})["id"],
            submit(c, "copy", {"src_siteid": s, "dst_siteid": s, "src_filepath": "/2",
                               "dst_filepath": "/3"})["id"],
            submit(c, "mkdir", {"src_siteid": s, "src_filepath": "/4"})["id"],
        ]
        r = c.get(f"{W}/jobs")
        assert r.headers["X-Total-Count"] == "3"
        jobs = r.json()
        assert [j["id"] for j in jobs] == sorted(ids, reverse=True)  # newest first
        for j in jobs:
            check_job(j, counts=True)
            assert j["num_elements"] == 1 and j["num_new"] == 1
            assert all(j[n] == 0 for n in COUNT_FIELDS[2:])

        r = c.get(f"{W}/jobs", params={"limit": 2})
        assert [j["id"] for j in r.json()] == sorted(ids, reverse=True)[:2]
        assert r.headers["X-Total-Count"] == "3"
        r = c.get(f"{W}/jobs", params={"limit": 2, "offset": 2})
        assert [j["id"] for j in r.json()] == [min(ids)]
        assert r.headers["X-Total-Count"] == "3"
        assert c.get(f"{W}/jobs", params={"offset": 10}).json() == []

        for given in ["COPY", "copy", "1"]:
            r = c.get(f"{W}/jobs", params={"type": given})
            assert [j["id"] for j in r.json()] == [ids[1]], given
            assert r.headers["X-Total-Count"] == "1"
        r = c.get(f"{W}/jobs", params=[("type", "LIST"), ("type", "MKDIR")])
        assert sorted(j["id"] for j in r.json()) == sorted([ids[0], ids[2]])
        r = c.get(f"{W}/jobs", params={"type": "list,mkdir"})
        assert r.headers["X-Total-Count"] == "2"

        for given in ["NEW", "new", "0"]:
            r = c.get(f"{W}/jobs", params={"status": given})
            assert r.headers["X-Total-Count"] == "3", given
        r = c.get(f"{W}/jobs", params={"status": "DONE"})
        assert r.json() == [] and r.headers["X-Total-Count"] == "0"
        r = c.get(f"{W}/jobs", params={"status": "NEW", "limit": 1, "offset": 1})
        assert [j["id"] for j in r.json()] == [sorted(ids, reverse=True)[1]]
        assert r.headers["X-Total-Count"] == "3"
        r = c.get(f"{W}/jobs", params={"status": "NEW", "type": "COPY"})
        assert [j["id"] for j in r.json()] == [ids[1]]

        for params, field in [({"status": "bogus"}, "status"), ({"type": "9"}, "type"),
                              ({"limit": 0}, "limit"), ({"limit": "x"}, "limit"),
                              ({"offset": -1}, "offset")]:
            r = c.get(f"{W}/jobs", params=params)
            assert r.status_code in (400, 422), params
            assert field in r.json()["detail"]


# ---------------------------------------------------------------- paths

ODD_PATHS = [
    "/data/my file.txt",
    "/a+b/c+d.root",
    "/user@example.org/f@1",
    "/données/ファイル/файл ü.txt",
    "/emoji 🚀/x",
    "  leading and trailing  ",
    "/quotes'\"`$(x);|&<>*?[]{}#%",
    "~/under home",
]


@pytest.mark.parametrize("path", ODD_PATHS)
def test_odd_paths_accepted_and_returned_exactly(
    ac: httpx.Client, site: int, site2: int, path: str
) -> None:
    job = submit(ac, "copy", {"src_siteid": site, "dst_siteid": site2, "src_filepath": path,
                              "dst_filepath": path + "+copy"})
    assert job["src_filepath"] == path
    assert job["dst_filepath"] == path + "+copy"
    got = ac.get(f"{W}/jobs/{job['id']}").json()
    assert (got["src_filepath"], got["dst_filepath"]) == (path, path + "+copy")
    element = ac.get(f"{W}/jobs/{job['id']}/elements/0").json()
    assert element["src_filepath"] == path
    listed = [j for j in ac.get(f"{W}/jobs", params={"limit": 5}).json() if j["id"] == job["id"]]
    assert listed and listed[0]["src_filepath"] == path


BAD_PATHS = ["..", "/a/../b", "../x", "/a/..", "/a\x00b", "/a\nb", "/a\tb", "/a\x1bb",
             "/a\x7fb", "/a\u0085b", ""]


@pytest.mark.parametrize("path", BAD_PATHS)
@pytest.mark.parametrize("field", ["src_filepath", "dst_filepath"])
def test_bad_paths_are_400_naming_the_field(
    ac: httpx.Client, site: int, site2: int, path: str, field: str
) -> None:
    body = {"src_siteid": site, "dst_siteid": site2, "src_filepath": "/ok", "dst_filepath": "/ok"}
    body[field] = path
    r = ac.post(f"{W}/copy", json=body)
    assert r.status_code == 400, r.text
    assert field in r.json()["detail"]


@pytest.mark.parametrize("route", ["list", "remove", "mkdir"])
def test_bad_source_path_on_every_route(ac: httpx.Client, site: int, route: str) -> None:
    r = ac.post(f"{W}/{route}", json={"src_siteid": site, "src_filepath": "/x/../../etc"})
    assert r.status_code == 400
    assert "src_filepath" in r.json()["detail"]


# ------------------------------------------------------ malformed requests


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"src_filepath": "/x"}, 400, "src_siteid"),
        ({"src_siteid": "SITE"}, 400, "src_filepath"),
        ({"src_siteid": "abc", "src_filepath": "/x"}, 422, "src_siteid"),
        ({"src_siteid": [1], "src_filepath": "/x"}, 422, "src_siteid"),
        ({"src_siteid": "SITE", "src_filepath": 5}, 422, "src_filepath"),
        ({"src_siteid": "SITE", "src_filepath": ["/x"]}, 422, "src_filepath"),
        ({"src_siteid": 987654, "src_filepath": "/x"}, 400, "src_siteid"),
        ({"src_siteid": 2**31, "src_filepath": "/x"}, 422, "src_siteid"),
        ({"src_siteid": 2**80, "src_filepath": "/x"}, 422, "src_siteid"),
        ({"src_siteid": -1, "src_filepath": "/x"}, 422, "src_siteid"),
        ({"src_siteid": "SITE", "src_filepath": "/x", "priority": "high"}, 422, "priority"),
        ({"src_siteid": "SITE", "src_filepath": "/x", "priority": 10}, 400, "priority"),
        ({"src_siteid": "SITE", "src_filepath": "/x", "priority": 2**70}, 400, "priority"),
        ({"src_siteid": "SITE", "src_filepath": "/x", "protocol": "ftp"}, 400, "protocol"),
        ({"src_siteid": "SITE", "src_filepath": "/x", "protocol": 99}, 400, "protocol"),
        ({"src_siteid": "SITE", "src_filepath": "/x", "extra_opts": [1]}, 422, "extra_opts"),
        ({"src_siteid": "SITE", "src_filepath": "/x", "extra_opts": {"depth": "deep"}}, 400,
         "extra_opts.depth"),
        ({"src_siteid": "SITE", "src_filepath": "/x", "max_tries": 2**70}, 400, "max_tries"),
        ({"src_siteid": "SITE", "src_filepath": "/x", "submission_id": "a\x00"}, 400,
         "submission_id"),
    ],
)
def test_malformed_list_submissions(
    ac: httpx.Client, site: int, body: dict[str, Any], status: int, field: str
) -> None:
    body = {k: (site if v == "SITE" else v) for k, v in body.items()}
    r = ac.post(f"{W}/list", json=body)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and field in detail


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"src_siteid": SITE, "src_filepath": "/x", "metadata": {"a": NaN}}', "metadata.a"),
        ('{"src_siteid": SITE, "src_filepath": "/x", "metadata": {"a": [Infinity]}}',
         "metadata.a[0]"),
        ('{"src_siteid": SITE, "src_filepath": "/x", "priority": NaN}', "priority"),
        ('{"src_siteid": SITE, "src_filepath": "/x\\ud800"}', "src_filepath"),
        ('{"src_siteid": SITE, "src_filepath": "/x", "metadata": {"k\\udfff": 1}}',
         "metadata"),
        ('{"src_siteid": SITE, "src_filepath": "/x", "metadata": {"a": "\\u0000"}}',
         "metadata.a"),
        ('{"src_siteid": SITE, "src_filepath": "/x", "metadata": ' + "[" * 5000 + "]" * 5000
         + "}", ""),
    ],
)
def test_values_no_database_can_store_are_400(
    ac: httpx.Client, site: int, raw: str, field: str
) -> None:
    r = ac.post(f"{W}/list", content=raw.replace("SITE", str(site)).encode(),
                headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert field in r.json()["detail"]


@pytest.mark.parametrize(
    ("type_value", "status"),
    [("BOGUS", 400), (9, 400), ("9", 400), ("-1", 400), (True, 400), (1.5, 400), ([0], 400),
     ({"t": 0}, 400), (None, 400)],
)
def test_post_jobs_unknown_or_missing_type(
    ac: httpx.Client, site: int, type_value: Any, status: int
) -> None:
    r = ac.post(f"{W}/jobs", json={"src_siteid": site, "src_filepath": "/x", "type": type_value})
    assert r.status_code == status, r.text
    assert "type" in r.json()["detail"]
    r = ac.post(f"{W}/jobs", json={"src_siteid": site, "src_filepath": "/x"})
    assert r.status_code == 400 and "type" in r.json()["detail"]


def test_site_of_another_user_is_like_an_unknown_site(
    ac: httpx.Client, bob: User, site: int
) -> None:
    bobs = bob.site()
    r = ac.post(f"{W}/list", json={"src_siteid": bobs, "src_filepath": "/x"})
    assert r.status_code == 400
    assert "src_siteid" in r.json()["detail"]
    r = ac.post(f"{W}/copy", json={"src_siteid": site, "dst_siteid": bobs,
                                   "src_filepath": "/x", "dst_filepath": "/y"})
    assert r.status_code == 400
    assert "dst_siteid" in r.json()["detail"]


@pytest.mark.parametrize(
    ("content", "ctype", "status"),
    [
        (b"this is not json", "application/json", 400),
        (b'{"src_siteid": 1, ', "application/json", 400),
        (b"\xff\xfe\x00garbage", "application/json", 400),
        (b"[1, 2, 3]", "application/json", 422),
        (b'"a string"', "application/json", 422),
        (b"42", "application/json", 422),
        (b"null", "application/json", 422),
        (b"", "application/json", 422),
        (b"src_siteid=1&src_filepath=/x", "application/x-www-form-urlencoded", 422),
        (b"hello", "text/plain", 422),
    ],
)
@pytest.mark.parametrize("route", ["list", "jobs", "copy"])
def test_non_object_bodies(
    ac: httpx.Client, route: str, content: bytes, ctype: str, status: int
) -> None:
    r = ac.post(f"{W}/{route}", content=content, headers={"content-type": ctype})
    assert r.status_code in (400, 422), (r.status_code, r.text)
    if status == 400:
        assert r.status_code == 400, r.text
    assert isinstance(r.json()["detail"], str) and r.json()["detail"]


def test_oversize_body_is_413(ac: httpx.Client, site: int) -> None:
    big = {"src_siteid": site, "src_filepath": "/x", "metadata": {"pad": "x" * (1 << 20)}}
    r = ac.post(f"{W}/list", json=big)
    assert r.status_code == 413
    assert "larger" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:
        yield b'{"src_siteid": 1, "src_filepath": "/x", "metadata": {"pad": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}}'

    r = ac.post(f"{W}/list", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    # A body just under the limit is fine.
    ok = {"src_siteid": site, "src_filepath": "/x", "metadata": {"pad": "x" * 1000}}
    assert ac.post(f"{W}/list", json=ok).status_code == 200


# ------------------------------------------------------------------ ownership


def test_other_users_job_is_404_everywhere(ac: httpx.Client, bob: User, site: int) -> None:
    job = submit(ac, "copy", {"src_siteid": site, "dst_siteid": site, "src_filepath": "/s",
                              "dst_filepath": "/d"})
    jid = job["id"]
    with bob.client() as bc:
        for path in [
            f"/jobs/{jid}", f"/jobs/{jid}/status", f"/jobs/{jid}/elements",
            f"/jobs/{jid}/elements/0", f"/jobs/{jid}/elements/0/status",
            f"/jobs/{jid}/output", f"/jobs/{jid}/elements/0/output",
            f"/jobs/{jid}/elements/0/output/1", f"/jobs/{jid}/elements/0/output/-1",
        ]:
            r = bc.get(W + path)
            assert r.status_code == 404, (path, r.status_code)
            assert str(jid) in r.json()["detail"]
        assert jid not in [j["id"] for j in bc.get(f"{W}/jobs").json()]
        assert jid not in [j["id"] for j in bc.get(f"{W}/jobs", params={"status": "NEW"}).json()]
    assert ac.get(f"{W}/jobs/{jid}").status_code == 200


# ------------------------------------------------------------ authentication

ROUTES = [
    ("GET", "/jobs"), ("GET", "/jobs/1"), ("GET", "/jobs/1/elements"),
    ("GET", "/jobs/1/elements/0"), ("GET", "/jobs/1/output"), ("GET", "/jobs/1/elements/0/output"),
    ("GET", "/jobs/1/elements/0/output/1"), ("GET", "/jobs/1/status"),
    ("GET", "/jobs/1/elements/0/status"), ("POST", "/jobs"), ("POST", "/list"), ("POST", "/copy"),
    ("POST", "/remove"), ("POST", "/rename"), ("POST", "/mkdir"),
]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer haul_not-a-real-token"}, {"X-Token": "haul_nope"},
     {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}],
)
def test_every_route_needs_a_valid_token(server: ServerProcess, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as c:
        for method, path in ROUTES:
            body = {"src_siteid": 1, "src_filepath": "/x"} if method == "POST" else None
            r = c.request(method, W + path, json=body)
            assert r.status_code == 401, (method, path, r.status_code)
            assert isinstance(r.json()["detail"], str)


def test_x_token_header_works_like_bearer(alice: User, site: int, server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, headers={"X-Token": alice.token}) as c:
        job = submit(c, "list", {"src_siteid": site, "src_filepath": "/via-x-token"})
        assert job["user_id"] == alice.id
        assert c.get(f"{W}/jobs/{job['id']}").status_code == 200
    with httpx.Client(base_url=server.url,
                      headers={"Authorization": f"bearer {alice.token}"}) as c:
        assert c.get(f"{W}/jobs/{job['id']}").status_code == 200


# --------------------------------------- outputs and counts (scripted worker)


@pytest.fixture(scope="module")
def wserver(iso_server: ServerProcess) -> ServerProcess:
    return iso_server


@pytest.fixture(scope="module")
def worker(iso_worker: ScriptedWorker) -> ScriptedWorker:
    return iso_worker


@pytest.fixture(scope="module")
def owner(wserver: ServerProcess) -> User:
    return wserver.new_user()


def test_output_routes_with_attempts(
    wserver: ServerProcess, worker: ScriptedWorker, owner: User
) -> None:
    other = wserver.new_user()
    s = owner.site(endpoints=["dummy://w/"])
    with owner.client() as c:
        job = submit(c, "list", {"src_siteid": s, "src_filepath": "/data dir"})
        jid = job["id"]

        # Attempt 1: a retryable failure; the element goes back to NEW.
        leases = worker.claim_elements(["LIST"])
        assert list(leases) == [(jid, 0)]
        assert c.get(f"{W}/jobs/{jid}/status").json()["status"] == "SUBMITTED"
        worker.fail(jid, 0, leases[(jid, 0)], retryable=True, code="CONNECTION",
                    log="first try: connection refused")
        status = c.get(f"{W}/jobs/{jid}/elements/0/status").json()
        assert status == {"jobid": jid, "elementid": 0, "status": "NEW", "attempts": 1}

        # Attempt 2: succeeds with a listing.
        listing = {"/data dir": [{"name": "a b.txt", "size": 3, "is_dir": False},
                                 {"name": "sub", "size": 0, "is_dir": True}]}
        leases = worker.claim_elements(["LIST"])
        assert list(leases) == [(jid, 0)]
        worker.succeed(jid, 0, leases[(jid, 0)], log="listed 2 entries", listing=listing)

        assert c.get(f"{W}/jobs/{jid}/status").json() == {"jobid": jid, "status": "DONE"}
        assert c.get(f"{W}/jobs/{jid}/elements/0/status").json() == {
            "jobid": jid, "elementid": 0, "status": "DONE", "attempts": 2,
        }
        outputs = c.get(f"{W}/jobs/{jid}/output").json()
        assert len(outputs) == 1
        latest = outputs[0]
        check_output(latest)
        assert (latest["jobid"], latest["elementid"], latest["attempt"]) == (jid, 0, 2)
        assert (latest["type"], latest["status"]) == ("LIST", "DONE")
        assert latest["log"] == "listed 2 entries"
        assert [e["name"] for e in latest["listing"]["/data dir"]] == ["a b.txt", "sub"]
        assert latest["listing"]["/data dir"][0]["size"] == 3
        assert latest["listing"]["/data dir"][1]["is_dir"] is True

        assert c.get(f"{W}/jobs/{jid}/elements/0/output").json() == latest
        assert c.get(f"{W}/jobs/{jid}/elements/0/output/2").json() == latest
        assert c.get(f"{W}/jobs/{jid}/elements/0/output/-1").json() == latest
        first = c.get(f"{W}/jobs/{jid}/elements/0/output/1").json()
        check_output(first)
        assert (first["attempt"], first["status"]) == (1, "FAILED")
        assert first["log"] == "first try: connection refused"
        assert c.get(f"{W}/jobs/{jid}/elements/0/output/-2").json() == first
        for n in (3, 0, -3, 99):
            r = c.get(f"{W}/jobs/{jid}/elements/0/output/{n}")
            assert r.status_code == 404, n
            assert isinstance(r.json()["detail"], str)

        element = c.get(f"{W}/jobs/{jid}/elements/0").json()
        check_element(element)
        assert element["attempts"] == 2 and element["status"] == "DONE"
        assert element["listing"]["/data dir"][0]["name"] == "a b.txt"

        listed = c.get(f"{W}/jobs").json()[0]  # newest first
        assert listed["id"] == jid and listed["status"] == "DONE"
        assert (listed["num_elements"], listed["num_done"]) == (1, 1)

    with other.client() as oc:
        for path in [f"/jobs/{jid}/output", f"/jobs/{jid}/elements/0/output",
                     f"/jobs/{jid}/elements/0/output/1", f"/jobs/{jid}/elements/0/output/-1",
                     f"/jobs/{jid}/elements/0", f"/jobs/{jid}/status"]:
            assert oc.get(W + path).status_code == 404, path
        assert oc.get(f"{W}/jobs").json() == []


def test_listing_values_are_checked_before_storing(
    wserver: ServerProcess, worker: ScriptedWorker, owner: User
) -> None:
    s = owner.site(endpoints=["dummy://w/"])
    with owner.client() as c:
        jid = submit(c, "list", {"src_siteid": s, "src_filepath": "/l"})["id"]
        token = worker.claim_elements(["LIST"])[(jid, 0)]
        bad = worker.report(jid, 0, token, listing={"/l": [{"name": "a\x00b", "size": 1}]})
        assert bad.status_code == 400 and "NUL" in bad.json()["detail"]
        bad = worker.report(jid, 0, token, listing={"/l": [{"name": "a", "size": 2**64}]})
        assert bad.status_code == 400 and "size" in bad.json()["detail"]
        # Refused reports changed nothing: the lease still holds and a good report lands.
        raw = ('{"token": "TOKEN", "returncode": 0, "listing": {"/l": [{"name": "a", "size": 1, '
               '"mtime": NaN}, {"name": "b", "size": 2, "mtime": 1e400}]}}').replace("TOKEN", token)
        with worker.client() as wc:
            r = wc.put(f"{W}/worker/jobs/{jid}/elements/0", content=raw.encode(),
                       headers={"content-type": "application/json"})
        assert r.status_code in (200, 400), r.text
        if r.status_code == 400:  # the protocol may refuse NaN outright; then report cleanly
            worker.succeed(jid, 0, token, listing={"/l": [{"name": "a", "size": 1},
                                                          {"name": "b", "size": 2}]})
        out = c.get(f"{W}/jobs/{jid}/output")
        assert out.status_code == 200, out.text
        entries = out.json()[0]["listing"]["/l"]
        assert [(e["name"], e["mtime"]) for e in entries] == [("a", None), ("b", None)]
        assert c.get(f"{W}/jobs/{jid}/elements").status_code == 200


def test_non_retryable_failure_fails_the_job(
    wserver: ServerProcess, worker: ScriptedWorker, owner: User
) -> None:
    s = owner.site(endpoints=["dummy://w/"])
    with owner.client() as c:
        jid = submit(c, "list", {"src_siteid": s, "src_filepath": "/missing"})["id"]
        leases = worker.claim_elements(["LIST"])
        worker.fail(jid, 0, leases[(jid, 0)], retryable=False, log="no such file")
        assert c.get(f"{W}/jobs/{jid}/status").json()["status"] == "FAILED"
        out = c.get(f"{W}/jobs/{jid}/elements/0/output").json()
        check_output(out)
        assert (out["attempt"], out["status"], out["log"]) == (1, "FAILED", "no such file")
        job = c.get(f"{W}/jobs", params={"status": "FAILED"}).json()
        assert [j["id"] for j in job] == [jid]
        assert (job[0]["num_failed"], job[0]["num_elements"]) == (1, 1)


def test_copy_expansion_counts_and_element_paging(
    wserver: ServerProcess, worker: ScriptedWorker, owner: User
) -> None:
    a = owner.site(endpoints=["dummy://a/"])
    b = owner.site(endpoints=["dummy://b/"])
    with owner.client() as c:
        jid = submit(c, "copy", {"src_siteid": a, "dst_siteid": b, "src_filepath": "/src",
                                 "dst_filepath": "/dst"})["id"]
        leases = worker.claim_elements(["LIST"])
        files = [{"name": f"f{i} +@.dat", "size": 10 + i, "is_dir": False} for i in range(5)]
        worker.succeed(jid, 0, leases[(jid, 0)], listing={"/src": files}, log="listed")

        r = c.get(f"{W}/jobs/{jid}/elements")
        assert r.headers["X-Total-Count"] == "6"
        elements = r.json()
        for e in elements:
            check_element(e)
        assert [e["id"] for e in elements] == list(range(6))
        copies = elements[1:]
        assert {e["type"] for e in copies} == {"COPY"}
        assert sorted(e["src_filepath"] for e in copies) == [f"/src/f{i} +@.dat" for i in range(5)]
        assert sorted(e["dst_filepath"] for e in copies) == [f"/dst/f{i} +@.dat" for i in range(5)]
        assert sorted(e["size"] for e in copies) == [10, 11, 12, 13, 14]

        page = c.get(f"{W}/jobs/{jid}/elements", params={"limit": 2, "offset": 1})
        assert page.headers["X-Total-Count"] == "6"
        assert [e["id"] for e in page.json()] == [1, 2]
        page = c.get(f"{W}/jobs/{jid}/elements", params={"limit": 10, "offset": 5})
        assert [e["id"] for e in page.json()] == [5]
        assert c.get(f"{W}/jobs/{jid}/elements", params={"offset": 6}).json() == []
        assert c.get(f"{W}/jobs/{jid}/elements", params={"limit": 0}).status_code == 422

        job = c.get(f"{W}/jobs").json()[0]
        assert job["id"] == jid and job["status"] == "SUBMITTED"
        assert (job["num_elements"], job["num_done"], job["num_new"]) == (6, 1, 5)
        # The files, without the LIST that expanded them (pdm's counters stay as they were).
        assert (job["num_files"], job["files_done"], job["files_failed"]) == (5, 0, 0)
        assert (job["bytes_total"], job["bytes_done"]) == (60, 0)
        sizes = {e["id"]: e["size"] for e in copies}

        # Two copies leased, one of them reporting progress (RUNNING), one done.
        leases = worker.claim_elements(["COPY"], limit=3)
        assert len(leases) == 3
        (k1, t1), (k2, t2), (k3, t3) = leases.items()
        worker.heartbeat(*k1, t1, transferred=5, elapsed=1.0)
        worker.succeed(*k3, t3, log="copied", checksum="adler32:00000001")
        job = c.get(f"{W}/jobs/{jid}").json()
        assert job["status"] == "RUNNING"
        assert (job["num_files"], job["files_done"]) == (5, 1)
        assert job["bytes_done"] == sizes[k3[1]] + 5  # finished files plus running bytes
        # The job's average rate since its first file started, and the time left at it.
        assert job["rate"] > 0 and job["eta_seconds"] > 0
        # A leased element counts the try under way (0 of 2 read as "not started").
        assert c.get(f"{W}/jobs/{jid}/elements/{k1[1]}").json()["attempts"] == 1
        assert c.get(f"{W}/jobs/{jid}/elements/{k2[1]}/status").json()["attempts"] == 1
        listed = c.get(f"{W}/jobs", params={"status": "running"}).json()
        assert [j["id"] for j in listed] == [jid]
        counts = {k: listed[0][k] for k in COUNT_FIELDS}
        assert counts == {"num_elements": 6, "num_new": 2, "num_done": 2, "num_failed": 0,
                          "num_submitted": 1, "num_running": 1, "num_cancelled": 0,
                          "num_paused": 0}
        assert c.get(f"{W}/jobs/{jid}/elements/{k1[1]}/status").json()["status"] == "RUNNING"
        assert c.get(f"{W}/jobs/{jid}/elements/{k2[1]}/status").json()["status"] == "SUBMITTED"

        outputs = c.get(f"{W}/jobs/{jid}/output").json()
        assert [(o["elementid"], o["type"]) for o in outputs] == [(0, "LIST"), (k3[1], "COPY")]
        for o in outputs:
            check_output(o)
        assert "listing" not in outputs[1]
        assert outputs[1]["log"] == "copied"

        # Finish everything: the job is DONE only when every element is.
        worker.succeed(*k1, t1)
        worker.succeed(*k2, t2)
        assert c.get(f"{W}/jobs/{jid}/status").json()["status"] == "SUBMITTED"
        for (j, e), t in worker.claim_elements(["COPY"]).items():
            assert j == jid
            worker.succeed(j, e, t)
        assert c.get(f"{W}/jobs/{jid}/status").json()["status"] == "DONE"
        done = c.get(f"{W}/jobs/{jid}").json()
        assert (done["num_elements"], done["num_done"]) == (6, 6)
        assert (done["num_files"], done["files_done"], done["bytes_done"]) == (5, 5, 60)
        assert done["rate"] > 0 and done["eta_seconds"] is None
        assert c.get(f"{W}/jobs/{jid}/elements/{k1[1]}").json()["attempts"] == 1
        job = c.get(f"{W}/jobs", params={"type": "COPY", "status": "DONE"}).json()
        assert [(j["id"], j["num_done"]) for j in job] == [(jid, 6)]
