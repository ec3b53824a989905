"""Retry delays: exponential with jitter, so a failing site is not hammered in lockstep."""

from __future__ import annotations

import random


def backoff_seconds(
    attempt: int, base: float = 2.0, cap: float = 600.0, rng: random.Random | None = None
) -> float:
    """Delay before the next try after ``attempt`` failed tries (equal jitter)."""
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    r = (rng or random).random()
    return ceiling / 2 + r * ceiling / 2
