"""What the worker sends is what the server validates: one schema per request.

The server validates with the pydantic models of ``haul.protocol``; the
worker builds the same bodies as plain dicts typed by the TypedDicts beside
them. These tests keep the two in step (the same keys) and check that what
the worker really builds passes the server's validation.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from haul.protocol.beats import BulkHeartbeat, HeartbeatItem
from haul.protocol.claims import ClaimBody, ClaimRequest
from haul.protocol.error_report import ErrorReport
from haul.protocol.host_keys import HostKeyPin, HostKeyPinItem
from haul.protocol.results import BulkResult, ResultItem
from haul.worker.beats import beat_of, encodable_result, unencodable_error
from haul.worker.claim_ahead import NAMESPACE_WANT, Want
from haul.worker.claim_body import claim_body
from haul.worker.config import WorkerConfig
from haul.worker.loop import STOPPED
from haul.worker.operations import Executor
from haul.worker.running import Running

ELEMENT: Any = {"job_id": 7, "id": 3, "type": "COPY", "token": "abc.3", "attempts": 0}


def _wire_names(model: type[BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


def test_the_worker_forms_have_the_models_fields() -> None:
    assert set(HeartbeatItem.__annotations__) == _wire_names(BulkHeartbeat)
    assert set(ResultItem.__annotations__) | {"jobid", "elementid", "token"} == _wire_names(
        BulkResult
    )
    assert set(HostKeyPinItem.__annotations__) == _wire_names(HostKeyPin)
    assert set(ClaimRequest.__annotations__) == _wire_names(ClaimBody)


def test_the_worker_claims_in_the_servers_form() -> None:
    cfg = WorkerConfig(server="http://x", token="t", protocols=["ssh"], lease_seconds=60)
    for want in (Want(10), Want(4, size=1 << 20), NAMESPACE_WANT):
        body = claim_body(cfg, want, busy=False)
        parsed = ClaimBody.model_validate(body)
        assert parsed.algorithm_args.limit == body["algorithm.args"]["limit"]
        assert parsed.lease_seconds == 60 and [p.name for p in parsed.protocols or []] == ["SSH"]


def test_a_heartbeat_is_in_the_servers_form() -> None:
    run = Running(job={}, element=ELEMENT)  # type: ignore[typeddict-item]
    run.started = 0.0
    beat = beat_of(run, now=1.0)
    parsed = BulkHeartbeat.model_validate(beat)
    assert (parsed.jobid, parsed.elementid, parsed.token) == (7, 3, "abc.3")


def test_results_and_the_workers_own_errors_are_in_the_servers_form() -> None:
    run = Running(job={"type": "COPY"}, element=ELEMENT | {"type": "TELEPORT"})  # type: ignore[typeddict-item]
    result = Executor().run(run, lambda _r: None)
    parsed = BulkResult.model_validate(result)
    assert parsed.returncode == 1 and parsed.error is not None
    assert parsed.error.as_dict() == result["error"]  # TransferError.to_dict, unchanged
    assert parsed.error.code == "UNSUPPORTED" and not parsed.error.retryable
    unencodable = encodable_result(dict(result) | {"log": "\udcff"})  # type: ignore[arg-type]
    assert BulkResult.model_validate(unencodable).error.code == "INVALID"  # type: ignore[union-attr]
    for error in (STOPPED, unencodable_error("heartbeat", "why")):
        assert ErrorReport.model_validate(error).as_dict() == error
