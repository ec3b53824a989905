"""The worker splits big result batches so each request stays under a size (issue 10, #13)."""

from __future__ import annotations

import json

import pytest

from haul.worker.protocol import Unencodable, encode, json_chunks


def test_batches_split_under_the_limit_and_keep_every_result_in_order() -> None:
    results = [{"jobid": 1, "elementid": i, "log": "x" * (i * 100)} for i in range(50)]
    chunks = list(json_chunks(results, limit=20_000))
    assert len(chunks) > 1
    assert all(len(c) <= 20_000 for c in chunks)
    assert [r for c in chunks for r in json.loads(c)] == results
    big = {"jobid": 2, "elementid": 0, "log": "y" * 50_000}  # alone, even over the limit
    assert [json.loads(c) for c in json_chunks([big], limit=20_000)] == [[big]]
    assert list(json_chunks([], limit=20_000)) == []


def test_bodies_are_the_bytes_json_would_send_and_json_decides_refusals() -> None:
    """`encode` goes through pydantic-core first; the wire form and the refusals stay json's."""
    bodies: list[object] = [
        {"jobid": 1, "elementid": 2, "token": "t.1", "returncode": 0, "checksum": None},
        {"log": 'é ü \u2028 <tab>\t "quoted" \\', "ok": True, "n": -3, "rate": 1.5},
        {"name": "NaN-and-Infinity.dat", "size": 0},  # only letters: json encodes it
        [{"a": [1, 2, {"b": None}]}, []],
        {"big": 2**62, "tuple": (1, 2)},
    ]
    for body in bodies:
        expected = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        assert encode(body) == expected
    assert json.loads(encode({"tiny": 1e-7, "huge": 1e300})) == {"tiny": 1e-7, "huge": 1e300}
    for bad in (
        {"rate": float("nan")},
        {"rate": float("inf")},
        {"name": "x\udc80y"},
        {1: object()},
    ):
        with pytest.raises(Unencodable):
            encode(bad)
