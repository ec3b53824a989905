"""Server settings: where haul keeps its state and which database it uses.

The state is private to the account that runs haul: the home directory is
0700, and the SQLite database (with its -wal, -shm and -journal files) and
``secret.key`` are 0600. Modes are tightened each time settings are resolved
(``haul server``, ``haul run``, ``haul admin``, ``haul db``), so state made by
an older version or copied in with looser modes is fixed at the next start.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from haul.store.database import sqlite_url_for

DEFAULT_HOME = ".haul"
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")
SECRET_KEY_FILE = "secret.key"

log = logging.getLogger("haul.config")


@dataclass
class Settings:
    home: Path
    db_url: str
    open_registration: bool = False
    file_roots: list[str] = field(default_factory=list)
    max_body_bytes: int = 1 << 20
    max_worker_body_bytes: int = 512 << 20
    upload_retention_seconds: float = 7 * 24 * 3600
    login_token_seconds: int = 7 * 24 * 3600
    reaper_seconds: float = 5.0
    # Retention and upload clean-up work on a scale of days: they run on their
    # own, slower tick, not on every reaper pass.
    housekeeping_seconds: float = 300.0
    sample_seconds: float = 60.0
    # Load samples older than this are thinned to one tick per load_bucket_seconds.
    load_keep_seconds: float = 2 * 24 * 3600
    load_bucket_seconds: float = 3600.0
    lease_seconds: int = 120
    backoff_base: float = 2.0
    backoff_cap: float = 600.0
    # Attempt logs and listings of finished elements, and expired tokens, are
    # pruned after this many days (the periodic task; see services.retention).
    retention_days: float = 90.0

    @classmethod
    def resolve(
        cls, home: str | Path | None = None, db_url: str | None = None, **kwargs: object
    ) -> Settings:
        """Flags win over environment variables, which win over defaults."""
        home_path = Path(home or os.environ.get("HAUL_HOME") or DEFAULT_HOME).resolve()
        home_path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        url = db_url or os.environ.get("HAUL_DB_URL") or sqlite_url_for(str(home_path / "haul.db"))
        make_private(home_path, url)
        return cls(home=home_path, db_url=url, **kwargs)  # type: ignore[arg-type]


def sqlite_file(db_url: str) -> Path | None:
    """The file behind a SQLite URL (None for other databases and in-memory ones)."""
    try:
        url = make_url(db_url)
    except ArgumentError:
        return None  # the database layer reports a bad URL when it connects
    name = url.database
    if url.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    if name.startswith("file:"):
        return None  # a SQLite URI names its own options; leave it alone
    return Path(name).resolve()


def _tighten(path: Path, mode: int) -> None:
    try:
        if path.exists() and (path.stat().st_mode & 0o777) != mode:
            os.chmod(path, mode)
    except PermissionError:
        log.warning("cannot make %s mode %o (not its owner?)", path, mode)


def make_private(home: Path, db_url: str) -> None:
    """Tightens the home, the SQLite files and the key; creates the database file 0600.

    The database file is created here, before SQLite opens it, because SQLite
    creates a new database with the process's umask (often 0644) and gives
    its -wal and -shm files the database file's mode.
    """
    _tighten(home, PRIVATE_DIR)
    db_file = sqlite_file(db_url)
    if db_file is not None:
        if not db_file.exists() and db_file.parent.is_dir():
            os.close(os.open(db_file, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
        for suffix in SQLITE_SIDE_FILES:
            _tighten(db_file.with_name(db_file.name + suffix), PRIVATE_FILE)
    _tighten(home / SECRET_KEY_FILE, PRIVATE_FILE)
