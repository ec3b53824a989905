"""What a new user meets first (issue 14): `haul run`, `haul admin`, `haul --version`.

Everything runs as subprocesses, the way the README's commands run.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.e2e.test_run_path import _read_until
from tests.harness import HAUL, free_port, run_cli


@contextmanager
def haul_run(home: Path, port: int) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`haul run` until its banner is out; yields the process and the banner."""
    proc = subprocess.Popen(
        [*HAUL, "run", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "HAUL_HOME": str(home)},
    )
    try:
        yield proc, _read_until(proc, r"stop both with Ctrl-C", timeout=60)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()


def _field(banner: str, name: str) -> str:
    found = re.search(rf"{name}:\s*(\S+)", banner)
    assert found, banner
    return found.group(1)


def test_version() -> None:
    proc = run_cli("--version")
    assert re.fullmatch(r"haul \d+\.\d+\.\d+\S*\n", proc.stdout), proc.stdout


def test_run_on_a_busy_port_exits_non_zero_naming_it(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        proc = subprocess.run([*HAUL, "run", "--port", str(port)], capture_output=True,
                              text=True, timeout=60,
                              env={**os.environ, "HAUL_HOME": str(tmp_path / "home")})
    assert proc.returncode == 1, proc
    assert f"127.0.0.1:{port}" in proc.stderr and "--port" in proc.stderr, proc.stderr
    assert "admin token" not in proc.stdout  # nothing minted for a server that never ran
    assert not (tmp_path / "home").exists()


def test_run_signs_in_once_rotates_tokens_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    home, port = tmp_path / "home", free_port()
    base = f"http://127.0.0.1:{port}"
    with haul_run(home, port) as (first, banner):
        first_token = _field(banner, "admin token")
        assert "(new)" in banner
        link = _field(banner, "sign in")
        assert link.startswith(f"{base}/web/login/link?code="), link
        with httpx.Client(base_url=base, timeout=30, follow_redirects=True) as browser:
            signed = browser.get(link)  # follows the redirect, with the cookie
            assert signed.status_code == 200 and str(signed.url) == f"{base}/web/jobs"
            assert "admin@localhost" in signed.text
            with httpx.Client(timeout=30) as other:
                again = other.get(link)  # the link works once
                assert again.status_code == 401 and "used already" in again.text
                # The link's code is no API token.
                code = link.rsplit("=", 1)[1]
                who = other.get(f"{base}/whoami", headers={"Authorization": f"Bearer {code}"})
                assert who.status_code == 401
        # Ctrl-C reaches `haul run` alone (its children have their own groups):
        # it stops the worker, then the server, and exits 0.
        os.kill(first.pid, signal.SIGINT)
        assert first.wait(40) == 0
        rest = first.stdout.read().decode() if first.stdout else ""
        assert "stopping: the worker first, then the server" in rest, rest
        assert "Traceback" not in rest and "Connection refused" not in rest, rest
    with socket.socket() as probe:  # the server is gone: the port is free again
        probe.bind(("127.0.0.1", port))

    with haul_run(home, port) as (_second, banner2):
        second_token = _field(banner2, "admin token")
        assert second_token != first_token
        assert "no longer work" in banner2, banner2
        with httpx.Client(base_url=base, timeout=30) as c:
            old = c.get("/whoami", headers={"Authorization": f"Bearer {first_token}"})
            assert old.status_code == 401
            new = c.get("/whoami", headers={"Authorization": f"Bearer {second_token}"})
            assert new.status_code == 200 and "admin" in new.json()["roles"]
            # The sign-in page takes an API token too (for accounts without a password).
            page = c.post("/web/login", data={"api_token": second_token, "next": "/web/jobs"})
            assert page.status_code == 303 and "haul_token=" in page.headers["set-cookie"]
            bad = c.post("/web/login", data={"api_token": "haul_wrong"})
            assert bad.status_code == 401 and "invalid or revoked token" in bad.text


def test_admin_commands_refuse_to_create_a_database_unless_asked(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("HAUL_HOME", "HAUL_DB_URL")}

    def admin(*args: str, cwd: Path = elsewhere, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*HAUL, "admin", *args], capture_output=True, text=True,
                              timeout=60, cwd=cwd, env={**env, **extra})

    refused = admin("add-user", "lost@test.org")
    assert refused.returncode == 1
    assert str(elsewhere / ".haul") in refused.stderr and "haul admin init" in refused.stderr
    assert not (elsewhere / ".haul" / "haul.db").exists()

    home = tmp_path / "server-home"
    made = admin("init", HAUL_HOME=str(home))
    assert made.returncode == 0, made.stderr
    assert f"created haul home {home} ($HAUL_HOME)" in made.stderr
    added = admin("add-user", "found@test.org", HAUL_HOME=str(home))
    assert added.returncode == 0, added.stderr
    assert f"using haul home {home} ($HAUL_HOME)" in added.stderr
    assert added.stdout.strip().splitlines()[-1].startswith("haul_")
    flagged = admin("add-worker", "w1", "--home", str(home))
    assert flagged.returncode == 0 and "(--home)" in flagged.stderr

    created = admin("add-user", "new@test.org", "--create")
    assert created.returncode == 0, created.stderr
    assert (elsewhere / ".haul" / "haul.db").exists()


def test_set_password_lets_a_passwordless_account_log_in(tmp_path: Path) -> None:
    from tests.harness import ServerProcess

    home = tmp_path / "home"
    srv = ServerProcess(home=home, db_url=f"sqlite+pysqlite:///{home}/haul.db").start()
    config = tmp_path / "config"
    env = {**{k: v for k, v in os.environ.items() if k not in ("HAUL_TOKEN", "HAUL_SERVER")},
           "HAUL_CONFIG_DIR": str(config)}
    try:
        token = srv.cli("admin", "add-user", "nopass@test.org").stdout.strip().splitlines()[-1]
        login = subprocess.run(
            [*HAUL, "login", "--server", srv.url, "--email", "nopass@test.org",
             "--password-stdin"], input="anything-at-all\n", capture_output=True, text=True,
            timeout=60, env=env)
        assert login.returncode != 0
        assert "haul login --token" in login.stderr and "set-password" in login.stderr

        short = subprocess.run(
            [*HAUL, "admin", "set-password", "nopass@test.org", "--password-stdin",
             "--home", str(home)], input="short\n", capture_output=True, text=True, timeout=60)
        assert short.returncode == 1 and "at least" in short.stderr
        done = subprocess.run(
            [*HAUL, "admin", "set-password", "nopass@test.org", "--password-stdin",
             "--home", str(home)], input="a long enough secret\n", capture_output=True,
            text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "password set for nopass@test.org" in done.stdout
        with srv.client() as c:
            r = c.post("/users/api/v1.0/login",
                       json={"email": "nopass@test.org", "passwd": "a long enough secret"})
            assert r.status_code == 200, r.text
            still = c.get("/whoami", headers={"Authorization": f"Bearer {token}"})
            assert still.status_code == 200  # its tokens keep working
        nobody = subprocess.run(
            [*HAUL, "admin", "set-password", "nobody@test.org", "--password-stdin",
             "--home", str(home)], input="a long enough secret\n", capture_output=True,
            text=True, timeout=60)
        assert nobody.returncode == 1 and "no such user" in nobody.stderr
    finally:
        srv.stop()
