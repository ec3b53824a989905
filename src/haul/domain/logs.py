"""Attempt logs are capped, keeping the tail: the end of a log says why it failed."""

from __future__ import annotations

MAX_LOG_BYTES = 1 << 20


def cap_log(text: str, limit: int = MAX_LOG_BYTES) -> str:
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text
    dropped = len(data) - limit
    tail = data[-limit:].decode("utf-8", errors="ignore")
    return f"[... {dropped} bytes truncated ...]\n{tail}"
