"""``metrics.observe_many``: a batch of durations lands in the histogram as one by one."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram

from haul.server.metrics import DURATION_BUCKETS, observe_many

AMOUNTS = [0.0, 0.01, 0.05, 0.050001, 0.1, 0.3, 1, 2.5, 7, 3600, 3600.5, 1e9, -2.0, 0.0]


def _samples(fill: object) -> dict[str, float]:
    registry = CollectorRegistry()
    h = Histogram("d", "durations", ["kind"], buckets=DURATION_BUCKETS, registry=registry)
    fill(h.labels("COPY"))  # type: ignore[operator]
    return {
        s.name + s.labels.get("le", ""): s.value
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


def test_observe_many_matches_observe_one_by_one() -> None:
    def one_by_one(child: Histogram) -> None:
        for a in AMOUNTS:
            child.observe(max(a, 0.0))

    by_batch = _samples(lambda child: observe_many(child, AMOUNTS))
    each = _samples(one_by_one)
    assert by_batch.pop("d_sum") == pytest.approx(each.pop("d_sum"))
    assert by_batch == each
    assert by_batch["d_bucket0.05"] == 5  # 0, 0.01, 0.05, -2 (as 0) and 0
    assert by_batch["d_count"] == len(AMOUNTS)


def test_observe_many_of_a_client_without_buckets_observes_each() -> None:
    seen: list[float] = []

    class Plain:
        def observe(self, amount: float) -> None:
            seen.append(amount)

    observe_many(Plain(), [1.0, -1.0, 2.0])
    assert seen == [1.0, 0.0, 2.0]
