"""pdm's own WorkqueueClient, replayed request for request against a live haul.

pdm's client (seed 000's ``pdm.workqueue.WorkqueueClient`` on pdm's
``RESTClient``) sends every call as JSON with an ``X-Token`` header, and its
submissions always carry ``max_tries`` 2, ``priority`` 5, ``protocol`` 0
(``JobProtocol.GRIDFTP``, its default) and ``extra_opts`` made of the
caller's keyword arguments. ``PdmReplay`` below builds exactly those
requests; nothing in it knows about haul, so a field haul renamed or a value
it refused fails here the way it would fail a pdm user.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client.live import Live, live_haul
from tests.harness import User, until

GRIDFTP = 0  # pdm's JobProtocol.GRIDFTP, the default of every submission call


class PdmReplay:
    """The requests pdm's WorkqueueClient makes, with its defaults, unmodified."""

    def __init__(self, base: str, token: str) -> None:
        self.http = httpx.Client(base_url=f"{base}/workqueue/api/v1.0",
                                 headers={"X-Token": token}, timeout=20)

    def _post(self, uri: str, data: dict[str, Any]) -> Any:
        resp = self.http.post(uri, json=data)
        assert resp.status_code in (200, 201), f"POST {uri}: {resp.status_code} {resp.text}"
        return resp.json() if resp.text else None

    def _get(self, uri: str) -> Any:
        resp = self.http.get(uri)
        assert resp.status_code in (200, 201), f"GET {uri}: {resp.status_code} {resp.text}"
        return resp.json() if resp.text else None

    def list(self, siteid: int, filepath: str, max_tries: int = 2, priority: int = 5,
             protocol: int = GRIDFTP, **kwargs: Any) -> Any:
        return self._post("list", {"src_siteid": siteid, "src_filepath": filepath,
                                   "max_tries": max_tries, "priority": priority,
                                   "protocol": protocol, "extra_opts": kwargs})

    def copy(self, src_siteid: int, src_filepath: str, dst_siteid: int, dst_filepath: str,
             max_tries: int = 2, priority: int = 5, protocol: int = GRIDFTP,
             **kwargs: Any) -> Any:
        return self._post("copy", {"src_siteid": src_siteid, "src_filepath": src_filepath,
                                   "dst_siteid": dst_siteid, "dst_filepath": dst_filepath,
                                   "max_tries": max_tries, "priority": priority,
                                   "protocol": protocol, "extra_opts": kwargs})

    def remove(self, siteid: int, filepath: str, max_tries: int = 2, priority: int = 5,
               protocol: int = GRIDFTP, **kwargs: Any) -> Any:
        return self._post("remove", {"src_siteid": siteid, "src_filepath": filepath,
                                     "max_tries": max_tries, "priority": priority,
                                     "protocol": protocol, "extra_opts": kwargs})

    def rename(self, siteid: int, src_filepath: str, dst_filepath: str, max_tries: int = 2,
               priority: int = 5, protocol: int = GRIDFTP, **kwargs: Any) -> Any:
        return self._post("rename", {"src_siteid": siteid, "src_filepath": src_filepath,
                                     "dst_siteid": siteid, "dst_filepath": dst_filepath,
                                     "max_tries": max_tries, "priority": priority,
                                     "protocol": protocol, "extra_opts": kwargs})

    def mkdir(self, siteid: int, filepath: str, max_tries: int = 2, priority: int = 5,
              protocol: int = GRIDFTP, **kwargs: Any) -> Any:
        return self._post("mkdir", {"src_siteid": siteid, "src_filepath": filepath,
                                    "max_tries": max_tries, "priority": priority,
                                    "protocol": protocol, "extra_opts": kwargs})

    def jobs(self) -> Any:
        return self._get("jobs")

    def job(self, job_id: int) -> Any:
        return self._get(f"jobs/{job_id}")

    def elements(self, job_id: int) -> Any:
        return self._get(f"jobs/{job_id}/elements")

    def element(self, job_id: int, element_id: int) -> Any:
        return self._get(f"jobs/{job_id}/elements/{element_id}")

    def status(self, job_id: int, element_id: int | None = None) -> Any:
        if element_id is None:
            return self._get(f"jobs/{job_id}/status")
        return self._get(f"jobs/{job_id}/elements/{element_id}/status")

    def output(self, job_id: int, element_id: int | None = None,
               attempt: int | None = None) -> Any:
        if element_id is None:
            return self._get(f"jobs/{job_id}/output")
        if attempt is None:
            return self._get(f"jobs/{job_id}/elements/{element_id}/output")
        return self._get(f"jobs/{job_id}/elements/{element_id}/output/{attempt}")


@pytest.fixture(scope="module")
def live(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with live_haul(db_url, tmp_path_factory.mktemp("pdm")) as lv:
        yield lv


def _finished(pdm: PdmReplay, job_id: int) -> str:
    def probe() -> str | None:
        status = pdm.status(job_id)["status"]
        return status if status in ("DONE", "FAILED", "CANCELLED") else None
    return until(probe, timeout=60, what=f"job {job_id} to finish")


def test_pdm_client_calls_run_on_the_sites_protocol(live: Live, tmp_path: Path) -> None:
    user: User = live.new_user()
    top = live.root / f"pdm-{user.id}"
    (top / "src" / "sub").mkdir(parents=True)
    (top / "src" / "a.txt").write_text("hello\n")
    (top / "src" / "sub" / "b c.txt").write_text("world\n")
    site = user.site(endpoints=[f"file://{top}"])
    pdm = PdmReplay(live.url, user.token)

    listed = pdm.list(site, "/src", depth=0)
    assert listed["type"] == "LIST" and listed["status"] in ("NEW", "SUBMITTED")
    # The job JSON says which protocol it really runs on: the site's, not GRIDFTP.
    assert listed["protocol"] == "FILE", listed
    assert listed["extra_opts"] == {"depth": 0}
    assert _finished(pdm, listed["id"]) == "DONE"
    out = pdm.output(listed["id"])
    assert out[0]["type"] == "LIST" and out[0]["status"] == "DONE"
    assert "listing" in out[0]

    copied = pdm.copy(site, "/src", site, "/dst")
    assert (copied["protocol"], copied["max_tries"], copied["priority"]) == ("FILE", 2, 5)
    assert _finished(pdm, copied["id"]) == "DONE"
    assert (top / "dst" / "sub" / "b c.txt").read_text() == "world\n"
    elements = pdm.elements(copied["id"])
    assert {e["status"] for e in elements} == {"DONE"}
    one = pdm.element(copied["id"], elements[-1]["id"])
    assert one["max_tries"] == 2 and one["attempts"] >= 1
    assert pdm.status(copied["id"], 0)["status"] == "DONE"
    assert pdm.output(copied["id"], elements[-1]["id"], 1)["status"] == "DONE"

    made = pdm.mkdir(site, "/made/deeper")
    assert made["protocol"] == "FILE" and _finished(pdm, made["id"]) == "DONE"
    assert (top / "made" / "deeper").is_dir()

    renamed = pdm.rename(site, "/dst/a.txt", "/dst/renamed.txt")
    assert renamed["protocol"] == "FILE" and _finished(pdm, renamed["id"]) == "DONE"
    assert (top / "dst" / "renamed.txt").read_text() == "hello\n"

    removed = pdm.remove(site, "/dst")
    assert removed["protocol"] == "FILE" and _finished(pdm, removed["id"]) == "DONE"
    assert not (top / "dst").exists()

    ids = {j["id"] for j in pdm.jobs()}
    assert {listed["id"], copied["id"], made["id"], renamed["id"], removed["id"]} <= ids
    assert pdm.job(copied["id"])["protocol"] == "FILE"


def test_a_protocol_the_sites_do_not_speak_is_still_refused(live: Live) -> None:
    """Only pdm's default is read as "whatever the sites speak"; SSH is asked for strictly."""
    user = live.new_user()
    site = user.site(endpoints=[f"file://{live.root}"])
    with user.client() as c:
        r = c.post("/workqueue/api/v1.0/list",
                   json={"src_siteid": site, "src_filepath": "/", "protocol": "SSH"})
    assert r.status_code == 400
    assert "SSH is not served by the job's sites" in r.text, r.text
