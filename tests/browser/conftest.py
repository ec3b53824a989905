"""Headless Chromium (Debian's package, driven by Playwright) against a live haul server.

Playwright never downloads a browser here: it launches /usr/bin/chromium with
the flags this closed network needs. Under CI=true a missing Chromium or
Playwright fails the run (``missing``); elsewhere the tests skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import missing
from tests.harness import ServerProcess, worker_command

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("HAUL_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright (pip install playwright)")
    exe = chromium_path()
    if exe is None:
        missing("Chromium (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@dataclass
class Dashboard:
    """A server with a real worker, its file root, and accounts that can log in."""

    server: ServerProcess
    root: Path
    admin_email: str
    admin_password: str


def _admin_with_password(srv: ServerProcess) -> tuple[str, str]:
    """The CLI asks for an admin's password on a terminal; tests write the account directly."""
    from haul.services.users import create_user
    from haul.store.database import Database

    email, password = f"admin-{uuid.uuid4().hex[:6]}@test.org", uuid.uuid4().hex
    db = Database.connect(srv.db_url)
    try:
        with db.write() as session:
            create_user(session, email, password, role="admin")
    finally:
        db.dispose()
    return email, password


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    home = tmp_path_factory.mktemp("webhome")
    root = tmp_path_factory.mktemp("webroot")
    srv = ServerProcess(
        home=home,
        db_url=f"sqlite+pysqlite:///{home}/haul.db",
        extra_args=["--file-root", str(root), "--sample-seconds", "1"],
    )
    srv.start()
    worker = None
    try:
        email, password = _admin_with_password(srv)
        worker = subprocess.Popen(
            [
                *worker_command(srv.url, srv.new_worker()),
                "--heartbeat-seconds",
                "1",
                "--concurrency",
                "4",
            ],
            start_new_session=True,
            stdout=open(home / "worker.log", "ab"),  # noqa: SIM115 - lives with the process
            stderr=subprocess.STDOUT,
        )
        yield Dashboard(srv, root, email, password)
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        srv.stop()
