"""Saying why a job failed, with paths as the user wrote them.

Workers report errors about the paths they touched, which are the server's
resolved paths (``NOT_FOUND: /srv/export/data/run1``); a user typed
``data:/run1``. The reasons here lead with ``SITE:PATH`` in the user's
terms (the source, or the destination for a DESTINATION error) and keep
the worker's message, with its resolved path, after it.
"""

from __future__ import annotations

from typing import Any

import haul.client as haul
from haul.cli.targets import Sites


def place(job: haul.Job, group: dict[str, Any], sites: Sites) -> str | None:
    if group.get("scope") == "DESTINATION" and group.get("example_dst_path"):
        return sites.place(job.get("dst_siteid"), group["example_dst_path"])
    if group.get("example_path"):
        return sites.place(job.get("src_siteid"), group["example_path"])
    return None


def located(where: str | None, message: str | None) -> str:
    """" at SITE:PATH" unless the worker's message already names the place."""
    return f" at {where}" if where and where not in (message or "") else ""


def describe(job: haul.Job, group: dict[str, Any], sites: Sites) -> str:
    message = group.get("message")
    text = str(group.get("code")) + located(place(job, group, sites), message)
    if message:
        text += f": {message}"
    return text


def main_reason(ctx: haul.Context, job: haul.Job, sites: Sites) -> str | None:
    """The most frequent failure of the job, and how many files share it."""
    groups = haul.get_job_errors(ctx, int(job["id"]))
    if not groups:
        return None
    main = groups[0]
    more = f" ({main['count']} files)" if main.get("count", 1) > 1 else ""
    others = sum(g.get("count", 0) for g in groups[1:])
    tail = f"; {others} more failed otherwise" if others else ""
    return describe(job, main, sites) + more + tail


def error_lines(job: haul.Job, groups: list[dict[str, Any]], sites: Sites) -> list[str]:
    """One line per error code: how many files, an example SITE:PATH, the message."""
    return [f"  {g['count']} x {describe(job, g, sites)}" for g in groups]
