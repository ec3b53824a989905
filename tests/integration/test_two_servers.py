"""Two server processes on one PostgreSQL share one queue (DESIGN.md, "Scale-out").

A worker long-polling one server is handed work submitted through the other:
the submitting process NOTIFYs the others after its commit
(store/work_notices.py; the notice itself is tested in
tests/store/test_work_notices.py), and a poll catches what no request makes.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from tests.conftest import PG_URL, missing
from tests.harness import ServerProcess, postgres_database
from tests.integration.api import W


def test_work_submitted_through_one_server_is_claimed_through_the_other(tmp_path: Path) -> None:
    if not PG_URL:
        missing("PostgreSQL (HAUL_TEST_POSTGRES_URL)")
    with postgres_database(PG_URL) as url:  # type: ignore[arg-type]
        a = ServerProcess(home=tmp_path / "a", db_url=url).start()
        try:
            b = ServerProcess(home=tmp_path / "b", db_url=url, admin_token=a.admin_token).start()
            try:
                _share(a, b)
            finally:
                b.stop()
        finally:
            a.stop()
        log = (tmp_path / "a" / "server.log").read_text()
        assert "not heard" not in log and "not sent" not in log, log


def _share(a: ServerProcess, b: ServerProcess) -> None:
    user = b.new_user()
    src = user.site("src", ["dummy://two-servers/?files=1&size=0"])
    dst = user.site("dst", ["dummy://two-servers-dst/"])
    worker = a.new_worker()
    claimed: list[Any] = []
    in_flight = threading.Event()

    def long_poll() -> None:
        with a.client(worker) as c:
            in_flight.set()
            r = c.post(f"{W}/worker/jobs", json={"types": ["LIST", "COPY"], "wait": 60})
            claimed.append(r)

    t = threading.Thread(target=long_poll)
    t.start()
    in_flight.wait(10)
    with user.client() as c:
        r = c.post(
            f"{W}/copy",
            json={"src_siteid": src, "dst_siteid": dst, "src_filepath": "/", "dst_filepath": "/"},
        )
        assert r.status_code == 200, r.text
        job_id = int(r.json()["id"])
    t.join(90)
    assert claimed and claimed[0].status_code == 200, claimed and claimed[0].text
    assert [j["id"] for j in claimed[0].json()] == [job_id]
