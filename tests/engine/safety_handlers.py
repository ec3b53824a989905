"""Handlers the data-safety tests run in real worker processes (``--handler``)."""

from __future__ import annotations

from typing import Any

from haul.worker.handlers import HandlerContext


def lone_surrogate(request: Any, ctx: HandlerContext) -> dict[str, Any]:
    """A result no UTF-8 JSON can carry: what a non-UTF-8 file name becomes in Python."""
    name = b"caf\xe9.txt".decode("utf-8", "surrogateescape")
    ctx.log(f"looked at {name}")
    return {"name": name}
