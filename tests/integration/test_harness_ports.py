"""The test harness never mistakes another test's server for its own.

Ports come from ``free_port()``, which closes its socket before the server binds: in a
parallel suite another server can take the port first. The harness used to take any
answer on the port as "started", and its tests then failed with "invalid or revoked
token" from a server that had never heard of them.
"""

from __future__ import annotations

from pathlib import Path

from tests.harness import ServerProcess


def test_a_taken_port_is_noticed_and_the_server_starts_elsewhere(tmp_path: Path) -> None:
    first = ServerProcess(home=tmp_path / "a", db_url=f"sqlite+pysqlite:///{tmp_path}/a.db")
    first.start()
    try:
        second = ServerProcess(
            home=tmp_path / "b", db_url=f"sqlite+pysqlite:///{tmp_path}/b.db", port=first.port
        )
        second.start()
        try:
            assert second.port != first.port
            with second.admin() as c:
                assert c.get("/whoami").status_code == 200
            with first.client(second.admin_token) as c:
                assert c.get("/whoami").status_code == 401
        finally:
            second.stop()
    finally:
        first.stop()
