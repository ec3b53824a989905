"""Handlers the job-type tests run in real worker processes (``--handler TYPE=module:fn``).

They live in a module, not in the tests, because the worker imports them
by name in another process; they report what they saw (times, process id,
cancellation) in their results and logs so the tests can check the queue's
behaviour from the outside.
"""

from __future__ import annotations

import os
import time
from typing import Any

from haul.worker.handlers import HandlerContext, PermanentError


def echo(request: Any, ctx: HandlerContext) -> dict[str, Any]:
    ctx.log(f"echo for job {ctx.job.get('id')}")
    return {"echo": request}


def slow(request: Any, ctx: HandlerContext) -> dict[str, Any]:
    """Sleeps ``request["seconds"]`` in small steps, stopping early once cancelled.

    The wall-clock start and end let a test line up runs from two worker
    processes; ``context.cancelled()`` is polled the way a real long handler
    should, so a cancel takes effect at the next heartbeat, not at the end.
    """
    seconds = float(request.get("seconds", 0.2)) if isinstance(request, dict) else 0.2
    start = time.time()
    steps = 0
    while time.time() - start < seconds:
        if ctx.cancelled():
            ctx.log(f"stopping: cancelled after {time.time() - start:.1f}s")
            return {"cancelled": True}
        time.sleep(0.05)
        steps += 1
        ctx.progress(steps)
    return {"start": start, "end": time.time(), "pid": os.getpid()}


def boom(request: Any, ctx: HandlerContext) -> None:
    message = request.get("message", "boom") if isinstance(request, dict) else "boom"
    ctx.log("about to fail")
    raise RuntimeError(message)


def fragile(request: Any, ctx: HandlerContext) -> None:
    raise PermanentError("this request can never work")
