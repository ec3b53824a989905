"""What a worker is told at start: the `haul worker` options, with their defaults."""

from __future__ import annotations

from dataclasses import dataclass, field

from haul.domain.enums import JobType
from haul.worker.fused_copy import MAX_BYTES as FUSE_MAX_BYTES
from haul.worker.shutdown_limits import DEFAULT_GRACE_SECONDS


@dataclass
class WorkerConfig:
    server: str
    token: str
    concurrency: int = 4
    types: list[str] = field(default_factory=lambda: [t.name for t in JobType])  # the built-ins
    protocols: list[str] | None = None
    lease_seconds: int | None = None
    heartbeat_seconds: float = 5.0
    # Upper bound on elements held queued beyond --concurrency; the worker
    # queues less when its measurements say less is enough (claim_ahead.py).
    prefetch: int | None = None
    file_roots: list[str] = field(default_factory=list)
    idle_max_seconds: float = 2.0
    poll_seconds: float = 5.0
    verify_tls: bool = True
    once: bool = False
    handlers: list[str] = field(default_factory=list)  # TYPE=module:function
    # Networks that sites registered by non-admins may reach although they are
    # loopback, link-local, private... (see haul.storage.network_policy).
    allow_networks: list[str] = field(default_factory=list)
    grace_seconds: float = DEFAULT_GRACE_SECONDS
    # A one-file COPY's file up to this size is copied in its LIST's lease
    # (worker/fused_copy.py); negative: never.
    fuse_max_bytes: int = FUSE_MAX_BYTES
