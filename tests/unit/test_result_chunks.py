"""The worker splits big result batches so each request stays under a size (issue 10, #13)."""

from __future__ import annotations

import json

from haul.worker.protocol import json_chunks


def test_batches_split_under_the_limit_and_keep_every_result_in_order() -> None:
    results = [{"jobid": 1, "elementid": i, "log": "x" * (i * 100)} for i in range(50)]
    chunks = list(json_chunks(results, limit=20_000))
    assert len(chunks) > 1
    assert all(len(c) <= 20_000 for c in chunks)
    assert [r for c in chunks for r in json.loads(c)] == results
    big = {"jobid": 2, "elementid": 0, "log": "y" * 50_000}  # alone, even over the limit
    assert [json.loads(c) for c in json_chunks([big], limit=20_000)] == [[big]]
    assert list(json_chunks([], limit=20_000)) == []
