"""Job type registration: the built-ins, admin-only custom types, and what submissions inherit."""

from __future__ import annotations

import uuid

import pytest

from haul.domain.enums import CUSTOM_BASE, JobType
from tests.jobtypes.live import JobTypesLive, W, submit

FIELDS = {
    "title": "Nightly scan",
    "description": "walks a tree and counts files",
    "category": "maintenance",
    "priority": 3,
    "max_tries": 4,
    "timeout": 120,
    "is_paused": False,
    "is_active": True,
    "max_scheduled": 2,
}


def _name(prefix: str = "scan") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_builtins_are_listed_to_anyone(jt: JobTypesLive) -> None:
    with jt.new_user().client() as c:
        r = c.get(f"{W}/job-types")
    assert r.status_code == 200, r.text
    builtins = {t["name"]: t for t in r.json() if t["builtin"]}
    assert set(builtins) == {t.name for t in JobType}
    for t in JobType:
        assert builtins[t.name]["id"] == int(t)
        assert builtins[t.name]["category"] == "file"
        assert builtins[t.name]["version"] == "1"


def test_admin_registers_reads_and_patches_a_type(jt: JobTypesLive) -> None:
    name = _name()
    with jt.admin() as c:
        r = c.post(f"{W}/job-types", json={"name": name, "version": "1", **FIELDS})
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["id"] >= CUSTOM_BASE and created["builtin"] is False
        assert {k: created[k] for k in FIELDS} == FIELDS

        r = c.get(f"{W}/job-types/{name}/1")
        assert r.status_code == 200 and r.json() == created
        assert created in c.get(f"{W}/job-types").json()

        change = {
            "title": "Weekly scan",
            "priority": 7,
            "max_tries": 1,
            "timeout": 30,
            "is_paused": True,
            "category": "audit",
        }
        r = c.patch(f"{W}/job-types/{name}/1", json=change)
        assert r.status_code == 200, r.text
        assert {k: r.json()[k] for k in change} == change
        assert c.get(f"{W}/job-types/{name}/1").json() == r.json()

        # null lifts a cap: max_scheduled is optional, not only positive.
        r = c.patch(f"{W}/job-types/{name}/1", json={"max_scheduled": None})
        assert r.status_code == 200 and r.json()["max_scheduled"] is None


def test_submissions_take_the_types_defaults_and_versions(jt: JobTypesLive) -> None:
    name = _name()
    # Paused: no worker has a handler for it anyway, but the jobs must stay put.
    jt.ensure_type(name, priority=2, max_tries=5, is_paused=True)
    jt.ensure_type(name, version="2", priority=8, max_tries=1, is_paused=True)
    with jt.new_user().client() as c:
        v1 = submit(c, {"type": name, "version": "1", "request": {"n": 1}})
        assert (v1["type"], v1["priority"], v1["max_tries"]) == (name, 2, 5)
        assert v1["extra_opts"]["version"] == "1" and v1["num_elements"] == 1
        latest = submit(c, {"type": name, "request": {"n": 2}})
        assert latest["extra_opts"]["version"] == "2" and latest["priority"] == 8
        own = submit(c, {"type": name, "version": "1", "priority": 0, "max_tries": 9})
        assert (own["priority"], own["max_tries"]) == (0, 9)

        r = c.post(f"{W}/jobs", json={"type": name, "version": "3"})
        assert r.status_code == 400, r.text
        r = c.post(f"{W}/jobs", json={"type": _name("unregistered")})
        assert r.status_code == 400, r.text


def test_inactive_type_refuses_submissions(jt: JobTypesLive) -> None:
    name = _name()
    jt.ensure_type(name, is_active=False)
    with jt.new_user().client() as c:
        r = c.post(f"{W}/jobs", json={"type": name, "request": {}})
    assert r.status_code == 409, r.text


def test_duplicates_conflict(jt: JobTypesLive) -> None:
    name = _name()
    with jt.admin() as c:
        assert c.post(f"{W}/job-types", json={"name": name}).status_code == 201
        r = c.post(f"{W}/job-types", json={"name": name, "version": "1", "title": "again"})
        assert r.status_code == 409, r.text
        assert c.post(f"{W}/job-types", json={"name": name, "version": "2"}).status_code == 201
        for builtin in ("COPY", "copy", "Mkdir"):
            r = c.post(f"{W}/job-types", json={"name": builtin})
            assert r.status_code == 409, (builtin, r.text)


@pytest.mark.parametrize(
    "name", ["", "1scan", "-scan", "has space", "semi;colon", "a/b", "ünïcode", "x" * 101]
)
def test_bad_names_are_refused(jt: JobTypesLive, name: str) -> None:
    with jt.admin() as c:
        r = c.post(f"{W}/job-types", json={"name": name})
    assert r.status_code == 400, r.text


@pytest.mark.parametrize(
    "fields",
    [
        {"priority": 10},
        {"priority": -1},
        {"max_tries": 0},
        {"max_tries": 101},
        {"timeout": 0},
        {"max_scheduled": 0},
        {"colour": "blue"},
    ],
)
def test_out_of_range_fields_are_refused(jt: JobTypesLive, fields: dict[str, object]) -> None:
    name = _name()
    with jt.admin() as c:
        r = c.post(f"{W}/job-types", json={"name": name, **fields})
        assert r.status_code in (400, 422), r.text
        assert c.post(f"{W}/job-types", json={"name": name}).status_code == 201
        r = c.patch(f"{W}/job-types/{name}/1", json=fields)
        assert r.status_code in (400, 422), r.text


def test_only_admins_register_or_change_types(jt: JobTypesLive) -> None:
    name = _name()
    jt.ensure_type(name)
    with jt.new_user().client() as c:
        r = c.post(f"{W}/job-types", json={"name": _name()})
        assert r.status_code == 403, r.text
        r = c.patch(f"{W}/job-types/{name}/1", json={"is_paused": True})
        assert r.status_code == 403, r.text
        r = c.patch(f"{W}/job-types/COPY/1", json={"is_paused": True})
        assert r.status_code == 403, r.text
        assert c.get(f"{W}/job-types/{name}/1").json()["is_paused"] is False
    with jt.server.client() as anonymous:
        assert anonymous.get(f"{W}/job-types").status_code == 401
        assert anonymous.post(f"{W}/job-types", json={"name": _name()}).status_code == 401


def test_unknown_types_are_not_found(jt: JobTypesLive) -> None:
    with jt.admin() as c:
        assert c.get(f"{W}/job-types/{_name('nope')}/1").status_code == 404
        assert c.patch(f"{W}/job-types/{_name('nope')}/1", json={"title": "x"}).status_code == 404
        assert c.get(f"{W}/job-types/COPY/7").status_code == 404
