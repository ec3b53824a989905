"""How long a stopping worker may take: in a module of its own so the CLI can
show the default without importing the worker (httpx and the storages)."""

from __future__ import annotations

# On SIGTERM, how long held elements may still finish (`--grace-seconds`).
DEFAULT_GRACE_SECONDS = 30.0
# After the grace period: how long results may still be retried, and how long
# cancelled elements get to notice before the worker exits without them.
FINAL_FLUSH_SECONDS = 10.0
THREAD_STOP_SECONDS = 5.0
