"""Custom job handlers: Python callables that run a custom job type's elements.

A handler is ``handler(request, context) -> JSON-able result``. It is found
through the ``haul.handlers`` entry-point group (name = job type) or given on
the command line as ``--handler TYPE=module:function``. Raising fails the
attempt with the message, and the traceback goes to the attempt log; raise
``PermanentError`` for a failure that retrying cannot fix.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from haul.protocol.leases import LeasedElement, LeasedJob

Handler = Callable[[Any, "HandlerContext"], Any]
GROUP = "haul.handlers"


class PermanentError(Exception):
    """A handler failure that another attempt would repeat (not retried)."""


class HandlerSpecError(ValueError):
    pass


@dataclass
class HandlerContext:
    """What a handler may use: its job, progress reporting, cancellation, a log."""

    job: LeasedJob
    element: LeasedElement
    _cancelled: Callable[[], bool]
    _progress: Callable[[int, float], None]
    _say: Callable[[str], None]
    started: float = field(default_factory=time.monotonic)

    def cancelled(self) -> bool:
        return self._cancelled()

    def progress(self, done: int) -> None:
        """Reports units done (bytes, files, steps) in the next heartbeat."""
        self._progress(done, time.monotonic() - self.started)

    def log(self, message: str) -> None:
        self._say(message)


def load_spec(spec: str) -> tuple[str, Handler]:
    name, sep, target = spec.partition("=")
    if not sep or not name.strip() or ":" not in target:
        raise HandlerSpecError(f"--handler {spec!r}: expected TYPE=module:function")
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name.strip())
        func = getattr(module, attr.strip())
    except (ImportError, AttributeError) as exc:
        raise HandlerSpecError(f"--handler {spec!r}: {exc}") from exc
    if not callable(func):
        raise HandlerSpecError(f"--handler {spec!r}: {attr} is not callable")
    return name.strip(), func


def load_handlers(specs: list[str] | None = None) -> dict[str, Handler]:
    found: dict[str, Handler] = {}
    for ep in entry_points(group=GROUP):
        try:
            found[ep.name] = ep.load()
        except Exception as exc:  # one broken plug-in must not stop the worker
            raise HandlerSpecError(f"entry point {ep.name} ({ep.value}): {exc}") from exc
    for spec in specs or []:
        name, func = load_spec(spec)
        found[name] = func
    return found
