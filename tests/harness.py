"""Real servers for tests: a haul server subprocess on a random loopback port.

Each ServerProcess gets its own home directory and database (a fresh SQLite
file, or a fresh PostgreSQL database created from HAUL_TEST_POSTGRES_URL),
and is killed with its whole process group when the test is done.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from haul.domain.enums import Role
from tests.accounts import add_account, prepare_database

T = TypeVar("T")


def until(
    probe: Callable[[], T | None],
    timeout: float = 30.0,
    what: str = "condition",
    interval: float = 0.1,
) -> T:
    """Polls ``probe`` until it answers something truthy; fails the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)

HAUL = [sys.executable, "-m", "haul"]

# Every test storage server listens on loopback, which workers refuse for sites
# registered by non-admins unless allowed; tests that show the refusal start
# their workers without this.
ALLOW_LOOPBACK = ["--allow-network", "127.0.0.0/8", "--allow-network", "::1/128"]


def worker_command(
    server_url: str, token: str, *args: str, allow_loopback: bool = True
) -> list[str]:
    """`haul worker` against `server_url`, allowed to reach the loopback test servers."""
    allow = ALLOW_LOOPBACK if allow_loopback else []
    return [*HAUL, "worker", "--server", server_url, "--token", token, *allow, *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(
    *args: str, env: dict[str, str] | None = None, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [*HAUL, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"haul {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


@contextmanager
def postgres_database(base_url: str) -> Iterator[str]:
    """A throw-away database on the test PostgreSQL server."""
    import psycopg

    plain = base_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"haul_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    head, _, _ = base_url.rpartition("/")
    try:
        yield f"{head}/{name}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_server(stack: ExitStack, postgres: str | None = None) -> ServerProcess:
    """A started server in a throw-away home, on SQLite there or on a throw-away
    database of ``postgres``'s server, stopped and removed when ``stack`` closes
    (the benchmarks' set-up)."""
    home = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    db_url = (
        stack.enter_context(postgres_database(postgres))
        if postgres
        else f"sqlite+pysqlite:///{home}/haul.db"
    )
    srv = ServerProcess(home=home, db_url=db_url).start()
    stack.callback(srv.stop)
    return srv


@contextmanager
def fresh_database(db_url: str, home: Path) -> Iterator[str]:
    """A fresh database on the same backend as ``db_url`` (a file under ``home``
    for SQLite, a throw-away database for PostgreSQL)."""
    if db_url.startswith("sqlite"):
        yield f"sqlite+pysqlite:///{home}/haul.db"
        return
    with postgres_database(os.environ["HAUL_TEST_POSTGRES_URL"]) as url:
        yield url


@dataclass
class ServerProcess:
    home: Path
    db_url: str
    extra_args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    admin_token: str = ""
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, "--home", str(self.home), "--db", self.db_url, check=check)

    def start(self, foreign_tries: int = 3) -> ServerProcess:
        """Ready is when the server answers as ours: a server that knows our admin token."""
        self.home.mkdir(parents=True, exist_ok=True)
        if not self.admin_token:
            prepare_database(self.db_url)
            self.admin_token = add_account(
                self.db_url, f"admin-{uuid.uuid4().hex[:6]}@test.org", Role.ADMIN
            )
        self.log_path = self.home / "server.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            [
                *HAUL,
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--home",
                str(self.home),
                "--db",
                self.db_url,
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"haul server exited:\n{self.log_path.read_text()}")
            try:
                answer = httpx.get(
                    f"{self.url}/whoami",
                    headers={"Authorization": f"Bearer {self.admin_token}"},
                    timeout=1,
                ).status_code
            except httpx.HTTPError:
                time.sleep(0.1)
                continue
            if answer == 200:
                return self
            if answer == 401 and foreign_tries > 0:
                # Another test's server took the port between free_port() and our bind:
                # it does not know our admin, so ours cannot have bound. Start again elsewhere.
                self.stop()
                self.port = free_port()
                return self.start(foreign_tries - 1)
            time.sleep(0.1)
        raise RuntimeError(f"haul server did not start:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def admin(self) -> httpx.Client:
        return self.client(self.admin_token)

    def new_user(self, email: str | None = None, password: str | None = None) -> User:
        email = email or f"user-{uuid.uuid4().hex[:8]}@test.org"
        password = password or secrets.token_urlsafe(12)
        with self.admin() as c:
            r = c.post("/users/api/v1.0/users", json={"email": email, "passwd": password})
            assert r.status_code == 201, r.text
            user_id = r.json()["id"]
        with self.client() as c:
            r = c.post("/users/api/v1.0/login", json={"email": email, "passwd": password})
            assert r.status_code == 200, r.text
            token = r.json()["token"]
        return User(self, user_id, email, password, token)

    def new_worker(self, name: str | None = None) -> str:
        name = name or f"w-{uuid.uuid4().hex[:6]}"
        return add_account(self.db_url, f"worker:{name}", Role.WORKER, name=name)


@dataclass
class User:
    server: ServerProcess
    id: int
    email: str
    password: str
    token: str

    def client(self) -> httpx.Client:
        return self.server.client(self.token)

    def site(
        self, name: str | None = None, endpoints: list[str] | None = None, **extra: Any
    ) -> int:
        body = {
            "site_name": name or f"site-{uuid.uuid4().hex[:8]}",
            "endpoints": endpoints or ["dummy://test/"],
            **extra,
        }
        with self.client() as c:
            r = c.post("/site/api/v1.0/site", json=body)
            assert r.status_code == 200, r.text
            return int(r.json())
