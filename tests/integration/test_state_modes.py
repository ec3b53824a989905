"""The haul home is private to its account (issue 10, point 15)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.harness import ServerProcess, run_cli, until


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_home_database_and_key_are_private_even_when_they_were_not(tmp_path: Path) -> None:
    home, old_umask = tmp_path / "home", os.umask(0o022)  # usually files 0644, dirs 0755
    try:
        out = run_cli("admin", "add-user", "modes@test.org", "--admin", "--home", str(home),
                      "--create")
        db = home / "haul.db"
        assert (mode(home), mode(db)) == (0o700, 0o600)  # `haul admin` on a new home
        # State from an older version, or copied in, with looser modes.
        os.chmod(home, 0o755)
        os.chmod(db, 0o644)
        srv = ServerProcess(home=home, db_url=f"sqlite+pysqlite:///{db}",
                            admin_token=out.stdout.strip().splitlines()[-1])
        srv.start()  # `haul server` tightens them at start
        try:
            with srv.admin() as c:  # a write, so SQLite has its -wal and -shm files
                r = c.post("/users/api/v1.0/users",
                           json={"email": "m2@test.org", "passwd": "password-2"})
                assert r.status_code == 201, r.text
            key = home / "secret.key"
            until(key.exists, 10, "the server's key file")
            assert mode(home) == 0o700
            for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), key):
                assert path.exists(), path
                assert mode(path) == 0o600, f"{path.name} is {oct(mode(path))}"
        finally:
            srv.stop()
        os.chmod(key, 0o644)
        os.chmod(db, 0o640)
        os.chmod(home, 0o711)
        run_cli("admin", "add-worker", "modes", "--home", str(home))  # `haul admin` tightens too
        assert (mode(home), mode(db), mode(key)) == (0o700, 0o600, 0o600)
    finally:
        os.umask(old_umask)
