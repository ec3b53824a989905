"""Point 17: output, elements, embedded listings and /statuses list_files are paged."""

from __future__ import annotations

import uuid

import pytest

from haul.domain import limits
from tests.harness import ServerProcess, User
from tests.integration.api import ScriptedWorker, W, check_element, check_output

FILES = 25


@pytest.fixture(scope="module")
def owner(own_server: ServerProcess) -> User:
    return own_server.new_user()


@pytest.fixture(scope="module")
def job(owner: User, scripted: ScriptedWorker) -> int:
    """A COPY whose LIST found FILES files; three of its copies are done."""
    src = owner.site(endpoints=[f"dummy://p-{uuid.uuid4().hex[:6]}/"])
    dst = owner.site(endpoints=[f"dummy://q-{uuid.uuid4().hex[:6]}/"])
    with owner.client() as c:
        r = c.post(f"{W}/copy", json={"src_siteid": src, "src_filepath": "/d",
                                     "dst_siteid": dst, "dst_filepath": "/e"})
        jid = r.json()["id"]
    token = scripted.claim_elements(["LIST"])[(jid, 0)]
    scripted.succeed(jid, 0, token, listing={"/d": [{"name": f"f{i:02}", "size": i}
                                                    for i in range(FILES)]})
    leases = sorted(scripted.claim_elements(["COPY"], limit=3).items())
    for (j, e), t in leases:
        scripted.succeed(j, e, t)
    return jid


def test_embedded_listing_is_paged(owner: User, job: int) -> None:
    with owner.client() as c:
        whole = c.get(f"{W}/jobs/{job}/elements/0").json()
        check_element(whole)
        assert len(whole["listing"]["/d"]) == FILES and whole["listing_total"] == FILES
        page = c.get(f"{W}/jobs/{job}/elements/0", params={"listing_limit": 10}).json()
        assert [e["name"] for e in page["listing"]["/d"]] == [f"f{i:02}" for i in range(10)]
        assert page["listing_total"] == FILES
        tail = c.get(f"{W}/jobs/{job}/elements/0",
                     params={"listing_limit": 10, "listing_offset": 20}).json()
        assert [e["name"] for e in tail["listing"]["/d"]] == [f"f{i:02}" for i in range(20, 25)]
        out = c.get(f"{W}/jobs/{job}/elements/0/output", params={"listing_limit": 5}).json()
        check_output(out)
        assert len(out["listing"]["/d"]) == 5 and out["listing_total"] == FILES
        r = c.get(f"{W}/jobs/{job}/elements/0", params={"listing_limit": 0})
        assert r.status_code == 422 and "listing_limit" in r.json()["detail"]
        r = c.get(f"{W}/jobs/{job}/elements/0",
                  params={"listing_limit": limits.LISTING.maximum + 1})
        assert r.status_code == 422 and "listing_limit" in r.json()["detail"]


def test_elements_are_paged(owner: User, job: int) -> None:
    with owner.client() as c:
        r = c.get(f"{W}/jobs/{job}/elements")
        assert len(r.json()) == FILES + 1 and r.headers["X-Total-Count"] == str(FILES + 1)
        r = c.get(f"{W}/jobs/{job}/elements", params={"limit": 10, "offset": 20})
        assert [e["id"] for e in r.json()] == list(range(20, 26))
        assert r.headers["X-Total-Count"] == str(FILES + 1)
        for bad in ({"limit": 0}, {"limit": limits.ELEMENTS.maximum + 1}, {"limit": "x"}):
            r = c.get(f"{W}/jobs/{job}/elements", params=bad)
            assert r.status_code == 422 and "limit" in r.json()["detail"], r.text
        r = c.get(f"{W}/jobs/{job}/elements", params={"offset": -1})
        assert r.status_code == 422 and "offset" in r.json()["detail"]


def test_output_is_paged(owner: User, job: int) -> None:
    with owner.client() as c:
        r = c.get(f"{W}/jobs/{job}/output")
        outputs = r.json()
        assert len(outputs) == 4 and r.headers["X-Total-Count"] == "4"  # LIST + 3 copies
        for o in outputs:
            check_output(o)
        r = c.get(f"{W}/jobs/{job}/output", params={"limit": 2, "offset": 1})
        assert [o["elementid"] for o in r.json()] == [o["elementid"] for o in outputs[1:3]]
        assert r.headers["X-Total-Count"] == "4"
        r = c.get(f"{W}/jobs/{job}/output", params={"limit": limits.OUTPUT.maximum + 1})
        assert r.status_code == 422 and "limit" in r.json()["detail"]


def test_statuses_with_list_files_are_paged(owner: User, job: int) -> None:
    with owner.client() as c:
        r = c.post(f"{W}/statuses", json={"ids": [job], "list_files": True})
        (entry,) = r.json()
        assert len(entry["elements"]) == FILES + 1 == entry["num_elements"]
        r = c.post(f"{W}/statuses", json={"ids": [job], "list_files": True,
                                          "limit": 5, "offset": 3})
        assert [e["id"] for e in r.json()[0]["elements"]] == [3, 4, 5, 6, 7]
        r = c.post(f"{W}/statuses", json={"ids": [job], "list_files": True,
                                          "limit": limits.STATUS_FILES.maximum + 1})
        assert r.status_code == 422 and "limit" in r.json()["detail"]
