"""The body of a worker's claim request, from what it wants and how it is set up."""

from __future__ import annotations

from typing import Protocol

from haul.domain.claim_limits import MAX_BATCH
from haul.domain.lanes import ClaimLane
from haul.protocol.claims import Algorithm, ClaimArgs, ClaimRequest
from haul.worker.claim_ahead import Want


class ClaimSettings(Protocol):
    types: list[str]
    protocols: list[str] | None
    lease_seconds: int | None
    poll_seconds: float
    once: bool


def claim_body(cfg: ClaimSettings, want: Want, busy: bool) -> ClaimRequest:
    """A ``protocol.claims.ClaimRequest``: only the keys this claim means are sent."""
    args: ClaimArgs = {"limit": min(want.limit, MAX_BATCH)}
    if want.size is not None:
        args["size"] = want.size
    body: ClaimRequest = {
        "types": cfg.types,
        "algorithm": Algorithm.BY_NUMBER if want.size is None else Algorithm.BY_SIZE,
        "algorithm.args": args,
    }
    if want.lane != ClaimLane.ALL:
        body["lane"] = str(want.lane)  # sent only when asked: older servers never see it
    if cfg.protocols:
        body["protocols"] = cfg.protocols
    if cfg.lease_seconds:
        body["lease_seconds"] = cfg.lease_seconds
    if not cfg.once and want.lane == ClaimLane.ALL:
        # Long-poll, busy or not: new work (a LIST's expansion, another
        # user's job) reaches the worker the moment the server has it. A
        # busy worker waits at most a second, so SIGTERM is seen promptly
        # A namespace-only claim never waits (claim_ahead.NAMESPACE_POLL_SECONDS).
        body["wait"] = min(cfg.poll_seconds, 1.0) if busy else cfg.poll_seconds
    return body
