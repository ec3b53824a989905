"""The worker's claim body: the namespace lane is asked for only when wanted."""

from __future__ import annotations

from haul.worker.claim_ahead import NAMESPACE_WANT, Want
from haul.worker.claim_body import claim_body
from haul.worker.config import WorkerConfig


def test_an_ordinary_claim_does_not_name_a_lane() -> None:
    body = claim_body(WorkerConfig(server="http://x", token="t"), Want(10), busy=True)
    assert "lane" not in body  # servers before the lane see the body they know
    assert body["algorithm.args"] == {"limit": 10} and body["wait"] == 1.0


def test_a_namespace_claim_asks_for_the_lane_alone_and_does_not_wait() -> None:
    cfg = WorkerConfig(server="http://x", token="t", poll_seconds=5.0)
    body = claim_body(cfg, NAMESPACE_WANT, busy=True)
    assert body["lane"] == "namespace"
    assert body["algorithm"] == "BY_NUMBER" and body["algorithm.args"]["limit"] > 0
    # While a claim waits the worker claims no transfers: its small files ran dry.
    assert "wait" not in body
