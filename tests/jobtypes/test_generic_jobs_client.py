"""The generic job API (seed 004's) in ``haul.client`` and ``haul.client.generic_jobs``
(also importable by its old name, ``haul.client.seed004``) against a live server.

Jobs of the ``external`` type have no handler on any worker: they stand for
an outside system that drives its own jobs through the state routes. Jobs
of ``echo`` are run by the real workers.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import haul.client as haul
from haul.client import generic_jobs, seed004
from tests.harness import User
from tests.jobtypes.live import JobTypesLive, W

EXTERNAL = "external"


@pytest.fixture(scope="module")
def owner(jt: JobTypesLive) -> User:
    jt.ensure_type(EXTERNAL, title="driven from outside")
    jt.ensure_type("echo")
    return jt.new_user()


@pytest.fixture()
def ctx(jt: JobTypesLive, owner: User) -> Iterator[haul.Context]:
    with haul.Context(jt.url, token=owner.token) as c:
        yield c


@pytest.fixture()
def admin_ctx(jt: JobTypesLive) -> Iterator[haul.Context]:
    with haul.Context(jt.url, token=jt.server.admin_token) as c:
        yield c


def test_public_names() -> None:
    """Seed 000's get_job keeps the top-level name; seed 004's lives in haul.client.seed004."""
    assert haul.get_job is not seed004.get_job
    assert haul.get_job.__module__ == "haul.client._jobs"
    assert haul.delete_job is seed004.delete_job
    for name in seed004.__all__:
        assert getattr(seed004, name) is not None
        if name not in ("get_job", "STATES", "state_of"):
            assert getattr(haul, name) is getattr(seed004, name), name


def test_seed004_is_the_old_name_of_generic_jobs() -> None:
    """Code that imports haul.client.seed004 gets the very same names."""
    assert seed004.__all__ == generic_jobs.__all__
    for name in generic_jobs.__all__:
        assert getattr(seed004, name) is getattr(generic_jobs, name), name


def test_create_find_and_get_by_state(ctx: haul.Context, owner: User) -> None:
    job = haul.create_job(ctx, EXTERNAL, owner.email, {"path": "/data/a", "n": 1})
    assert job["type"] == EXTERNAL and job["status"] == "NEW"
    assert job["user_id"] == owner.id

    found, state = haul.find_job(ctx, job["id"])
    assert found["id"] == job["id"] and state == "pending"
    assert generic_jobs.get_job(ctx, job["id"])["id"] == job["id"]  # default state: pending
    assert generic_jobs.get_job(ctx, job["id"], "idle")["id"] == job["id"]  # idle is NEW too
    with pytest.raises(haul.NotFound):
        generic_jobs.get_job(ctx, job["id"], state="running")
    with pytest.raises(ValueError, match="expected one of"):
        generic_jobs.get_job(ctx, job["id"], state="bogus")
    with pytest.raises(haul.NotFound):
        haul.find_job(ctx, 2_000_000_000)

    params = haul.get_task_params(ctx, job["id"])
    assert params["request"] == {"path": "/data/a", "n": 1}


def test_server_answers_400_for_unknown_states(
    jt: JobTypesLive, ctx: haul.Context, owner: User
) -> None:
    job = haul.create_job(ctx, EXTERNAL, owner.id, {})
    with owner.client() as c:
        r = c.get(f"{W}/jobs/{job['id']}/state", params={"state": "bogus"})
        assert r.status_code == 400, r.text
        r = c.put(f"{W}/jobs/{job['id']}/state", json={"state": "bogus"})
        assert r.status_code == 400, r.text
        r = c.get(f"{W}/jobs/{job['id']}/state", params={"state": "pending"})
        assert r.status_code == 200 and r.json()["state"] == "pending", r.text
        r = c.get(f"{W}/jobs/{job['id']}/state", params={"state": "finished"})
        assert r.status_code == 404, r.text
    with pytest.raises(ValueError):
        haul.set_job(ctx, job["id"], None, "bogus")


def test_create_with_a_result_and_read_it(ctx: haul.Context, owner: User) -> None:
    job = haul.create_job(ctx, EXTERNAL, owner.email, {"n": 2}, result={"answer": 42})
    results = haul.get_job_results(ctx, job["id"])
    assert results == {"jobid": job["id"], "status": "NEW", "result": {"answer": 42}}
    without = haul.create_job(ctx, EXTERNAL, owner.email, {"n": 3})
    with pytest.raises(haul.NotFound):
        haul.get_job_results(ctx, without["id"])


def test_only_admins_create_for_others(
    jt: JobTypesLive, ctx: haul.Context, admin_ctx: haul.Context, owner: User
) -> None:
    other = jt.new_user()
    with pytest.raises(haul.Unauthorized) as refused:
        haul.create_job(ctx, EXTERNAL, other.email, {})
    assert refused.value.status_code == 403
    made = haul.create_job(admin_ctx, EXTERNAL, other.email, {"for": "other"})
    assert made["user_id"] == other.id
    by_id = haul.create_job(admin_ctx, EXTERNAL, other.id, {})
    assert by_id["user_id"] == other.id
    with pytest.raises(haul.ClientError) as unknown:
        haul.create_job(admin_ctx, EXTERNAL, "nobody@nowhere.test", {})
    assert unknown.value.status_code == 400
    with pytest.raises(haul.ClientError) as no_type:
        haul.create_job(ctx, "never-registered", owner.email, {})
    assert no_type.value.status_code == 400
    # The other user's job is theirs: the owner cannot see or drive it.
    with pytest.raises(haul.NotFound):
        haul.find_job(ctx, made["id"])
    with pytest.raises(haul.NotFound):
        haul.set_job_running(ctx, made["id"], None)


def test_drive_a_job_through_its_states(ctx: haul.Context, owner: User) -> None:
    job_id = haul.create_job(ctx, EXTERNAL, owner.email, {"n": 4})["id"]
    assert job_id in [j["id"] for j in haul.get_pending_jobs(ctx)]

    running = haul.set_job_running(ctx, job_id, None)
    assert running["status"] == "RUNNING"
    assert generic_jobs.get_job(ctx, job_id, "running")["id"] == job_id
    assert job_id in [j["id"] for j in haul.get_running_jobs(ctx)]
    assert job_id not in [j["id"] for j in haul.get_pending_jobs(ctx)]
    with pytest.raises(haul.NotFound):
        haul.get_job_results(ctx, job_id)  # no data given: no result yet

    finished = haul.set_job_finished(ctx, job_id, {"files": 3})
    assert finished["status"] == "DONE"
    assert haul.find_job(ctx, job_id)[1] == "finished"
    assert haul.get_job_results(ctx, job_id)["result"] == {"files": 3}
    assert job_id in [j["id"] for j in haul.get_finished_jobs(ctx)]
    assert job_id not in [j["id"] for j in haul.get_running_jobs(ctx)]

    # Finished is final: the state machine refuses, and nothing changes.
    with pytest.raises(haul.ClientError) as refused:
        haul.set_job_pending(ctx, job_id, None)
    assert refused.value.status_code == 409
    assert haul.find_job(ctx, job_id)[1] == "finished"


def test_error_then_pending_again(ctx: haul.Context, owner: User) -> None:
    job_id = haul.create_job(ctx, EXTERNAL, owner.email, {"n": 5})["id"]
    failed = haul.set_job(ctx, job_id, {"why": "disk full"}, "error")
    assert failed["status"] == "FAILED"
    assert haul.find_job(ctx, job_id)[1] == "error"
    assert haul.get_job_results(ctx, job_id)["result"] == {"why": "disk full"}
    with pytest.raises(haul.ClientError) as refused:
        haul.set_job_finished(ctx, job_id, None)  # error -> finished is not a move
    assert refused.value.status_code == 409
    again = haul.set_job_pending(ctx, job_id, None)
    assert again["status"] == "NEW"
    assert generic_jobs.get_job(ctx, job_id, "pending")["id"] == job_id


def test_update_job_result_finishes_the_job(ctx: haul.Context, owner: User) -> None:
    job_id = haul.create_job(ctx, EXTERNAL, owner.email, {"n": 6})["id"]
    assert haul.update_job_result(ctx, job_id, {"v": 1}) is None
    assert haul.find_job(ctx, job_id)[1] == "finished"
    assert haul.get_job_results(ctx, job_id)["result"] == {"v": 1}
    # Already finished: only the result changes.
    haul.update_job_result(ctx, job_id, {"v": 2})
    assert haul.get_job_results(ctx, job_id) == {
        "jobid": job_id,
        "status": "DONE",
        "result": {"v": 2},
    }
    # A failed job cannot jump to finished, so its result is not replaced either.
    failed_id = haul.create_job(ctx, EXTERNAL, owner.email, {"n": 7})["id"]
    haul.set_job(ctx, failed_id, None, "error")
    with pytest.raises(haul.ClientError):
        haul.update_job_result(ctx, failed_id, {"v": 3})
    with pytest.raises(haul.NotFound):
        haul.get_job_results(ctx, failed_id)


def test_get_jobs_and_delete(ctx: haul.Context, owner: User) -> None:
    pending = haul.create_job(ctx, EXTERNAL, owner.email, {"n": 8})["id"]
    done = haul.create_job(ctx, EXTERNAL, owner.email, {"n": 9}, result={"ok": True})["id"]
    haul.set_job_finished(ctx, done, None)
    everything = haul.get_jobs(ctx)
    ids = [j["id"] for j in everything]
    assert {pending, done} <= set(ids) and len(ids) == len(set(ids))
    assert ids == sorted(ids, reverse=True)  # newest first

    with pytest.raises(haul.ClientError) as refused:
        haul.delete_job(ctx, pending)  # not finished yet
    assert refused.value.status_code == 409
    assert haul.delete_job(ctx, done) == {"jobid": done, "deleted": True}
    with pytest.raises(haul.NotFound):
        haul.find_job(ctx, done)
    assert done not in [j["id"] for j in haul.get_jobs(ctx)]


def test_a_worker_runs_a_client_created_job(ctx: haul.Context, owner: User) -> None:
    job = haul.create_job(ctx, "echo", owner.email, {"hello": "world"}, label="say hello")
    final = haul.wait(ctx, job["id"], timeout=30)
    assert final["status"] == "DONE"
    assert haul.find_job(ctx, job["id"])[1] == "finished"
    assert haul.get_job_results(ctx, job["id"])["result"] == {"echo": {"hello": "world"}}
    assert haul.get_task_params(ctx, job["id"])["name"] == "say hello"


def test_file_jobs_are_not_set_by_hand(jt: JobTypesLive, ctx: haul.Context, owner: User) -> None:
    site = owner.site()
    listing = haul.submit_job(ctx, haul.new_job("LIST", site, "/data"))
    with pytest.raises(haul.ClientError) as refused:
        haul.set_job_finished(ctx, listing["id"], None)
    assert refused.value.status_code == 409
    assert haul.find_job(ctx, listing["id"])[1] == "pending"


def test_job_schema(ctx: haul.Context) -> None:
    schema = haul.get_job_schema(ctx)
    assert schema["$schema"].endswith("2020-12/schema")
    consts = {
        schema["$defs"][v["$ref"].rsplit("/", 1)[-1]]["properties"]["type"]["const"]
        for v in schema["oneOf"]
    }
    assert {"LIST", "COPY", "REMOVE", "RENAME", "MKDIR", EXTERNAL} <= consts


def test_custom_job_json_carries_name_request_and_result(ctx: haul.Context, owner: User) -> None:
    job = haul.create_job(ctx, EXTERNAL, owner.email, {"n": 10}, result={"r": 1}, label="lbl")
    found, _ = haul.find_job(ctx, job["id"])
    assert (found.get("name"), found.get("request"), found.get("result")) == (  # type: ignore[misc]
        "lbl",
        {"n": 10},
        {"r": 1},
    )


def test_unauthenticated_calls_are_refused(jt: JobTypesLive) -> None:
    with haul.Context(jt.url, token="not-a-token") as anon, pytest.raises(haul.Unauthorized):
        haul.get_jobs(anon)
    with httpx.Client(base_url=jt.url) as c:
        assert c.get(f"{W}/jobs/schema").status_code == 401
