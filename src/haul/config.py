"""Server settings: where haul keeps its state and which database it uses."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from haul.store.database import sqlite_url_for

DEFAULT_HOME = ".haul"


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
        home_path.mkdir(parents=True, exist_ok=True)
        url = db_url or os.environ.get("HAUL_DB_URL") or sqlite_url_for(str(home_path / "haul.db"))
        return cls(home=home_path, db_url=url, **kwargs)  # type: ignore[arg-type]
