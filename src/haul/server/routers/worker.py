"""The worker protocol under /workqueue/api/v1.0/worker (pdm's shapes).

The bodies and answers are declared in ``haul.protocol``; this module reads
them, calls one service, and sends the answer.
"""

from __future__ import annotations

import functools
import json
import time
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, TypeAdapter, ValidationError

from haul.protocol.beats import BeatAnswer, BeatReply, BulkHeartbeat, HeartbeatBody
from haul.protocol.claims import Algorithm, ClaimBody
from haul.protocol.host_keys import HostKeyPin, PinnedKey
from haul.protocol.items import refusal
from haul.protocol.leases import LeasedJob
from haul.protocol.results import BulkResult, ResultAnswer, ResultBody, ResultReply
from haul.server import work_hooks as observe
from haul.server.deps import Box, WorkerUser, WriteSession
from haul.server.errors import describe_validation
from haul.server.fast_json import FastJSONResponse
from haul.server.work_signal import signal_if_work_added, work_added
from haul.services import claims, reports
from haul.services import sites as site_service
from haul.services.errors import BadRequest
from haul.services.job_types import resolve_claim_types

router = APIRouter(prefix="/worker")

ItemT = TypeVar("ItemT", bound=BaseModel)


def _items(model: type[ItemT], body: list[Any]) -> tuple[list[ItemT | None], list[Any]]:
    """Each item of a batch read on its own: a malformed one is answered by itself.

    422 for a bad field, 400 where a field's own check refused its value
    (``describe_validation``; e.g. an error report's scope).

    Returns the items (None where refused) and the answers so far (None where
    the item still needs its answer from the service).
    """
    try:  # the common case, every item good: one validation pass over the list
        whole = _list_adapter(model).validate_python(body)
        return list(whole), [None] * len(whole)
    except ValidationError:
        pass
    items: list[ItemT | None] = []
    answers: list[Any] = []
    for raw in body:
        try:
            items.append(model.model_validate(raw))
            answers.append(None)
        except ValidationError as exc:
            status, detail = describe_validation(list(exc.errors()))
            ids = raw if isinstance(raw, dict) else {}
            items.append(None)
            # 422, or 400 for a value a field's own check refused (error.scope)
            answers.append(refusal(ids.get("jobid"), ids.get("elementid"), status, detail))
    return items, answers


def _items_of_json(model: type[ItemT], raw: bytes) -> tuple[list[ItemT | None], list[Any]]:
    """``_items`` of a raw JSON body: the common case, every item good, parsed and
    validated in one pass by pydantic-core (no ``json.loads`` of the whole batch
    first); otherwise parsed and answered item by item as ``_items`` does, and a
    body that is no JSON list is refused as FastAPI refuses it (422)."""
    try:
        whole = _list_adapter(model).validate_json(raw)
        return list(whole), [None] * len(whole)
    except ValidationError:
        pass
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as e:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", e.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": e.msg},
                }
            ]
        ) from e
    if not isinstance(body, list):
        raise RequestValidationError(
            [{"type": "list_type", "loc": ("body",), "msg": "Input should be a valid list"}]
        )
    return _items(model, body)


@functools.cache
def _list_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _merge(answers: list[Any], served: list[Any]) -> list[Any]:
    """The service's answers put back in the places of the items it was given."""
    rest = iter(served)
    return [a if a is not None else next(rest) for a in answers]


def _policy(request: Request) -> reports.Policy:
    s = request.app.state.settings
    return reports.Policy(
        lease_seconds=s.lease_seconds, backoff_base=s.backoff_base, backoff_cap=s.backoff_cap
    )


def _result(job_id: int, element_id: int, body: ResultBody) -> reports.Result:
    return reports.Result(
        job_id=job_id,
        element_id=element_id,
        token=body.token,
        returncode=body.returncode,
        host=body.host,
        log=body.log,
        timestamp=body.timestamp,
        listing=body.listing,
        error=body.error,
        checksum=body.checksum,
        bytes=body.bytes,
        size=body.size,
        verdict=body.verdict,
        result=body.result,
        file=_result(job_id, element_id + 1, body.file) if body.file is not None else None,
    )


def _beat(job_id: int, element_id: int, body: HeartbeatBody) -> reports.Heartbeat:
    return reports.Heartbeat(
        job_id, element_id, body.token, body.transferred, body.elapsed, body.instant, body.average
    )


@router.post("/jobs")
async def claim_work(body: ClaimBody, request: Request, worker: WorkerUser, box: Box) -> Any:
    """Claims a batch; with ``wait`` > 0 an empty queue is polled up to that long.

    The long poll waits on the event loop, not on a thread, so many idle
    workers cost the server no threads, and new work is handed out within a
    fraction of a second instead of after a worker's back-off sleep.
    """
    if not body.types:
        raise BadRequest("types: list the job types this worker serves")
    settings = request.app.state.settings
    req = claims.ClaimRequest(
        types=[],
        protocols=body.protocols,
        algorithm=body.algorithm,
        # BY_SIZE honours a limit only when the worker gives one (pdm's BY_SIZE has none).
        limit=body.algorithm_args.limit
        if body.algorithm == Algorithm.BY_NUMBER or "limit" in body.algorithm_args.model_fields_set
        else None,
        size=body.algorithm_args.size,
        lease_seconds=body.lease_seconds or settings.lease_seconds,
        lane=body.lane,
    )
    db = request.app.state.db

    def attempt() -> list[LeasedJob]:
        with db.write() as session:
            if not req.types:
                req.types = resolve_claim_types(session, list(body.types or []))
            if not req.types:
                return []
            jobs = claims.claim(session, box, worker, req)
            observe.claimed(request, session, worker, body.types, body.protocols, jobs)
            return jobs

    deadline = time.monotonic() + body.wait
    while True:
        jobs = await run_in_threadpool(attempt)
        if jobs or time.monotonic() >= deadline or await request.is_disconnected():
            break
        signal = request.app.state.work_signal
        await signal.wait(signal.poll_seconds)
    if not jobs:
        return JSONResponse({"detail": "No work to be done."}, status_code=404)
    return FastJSONResponse(jobs)  # plain JSON: skips a slow generic encoding pass


@router.put("/jobs/{job_id}/elements/{element_id}/monitoring")
def monitor(
    job_id: int,
    element_id: int,
    body: HeartbeatBody,
    request: Request,
    worker: WorkerUser,
    session: WriteSession,
) -> BeatAnswer:
    beat = _beat(job_id, element_id, body)
    reply = reports.heartbeat(session, beat, _policy(request))
    observe.heartbeats(request, session, worker, [beat], reply)
    return reply


@router.put("/jobs/{job_id}/elements/{element_id}")
def report(
    job_id: int,
    element_id: int,
    body: ResultBody,
    request: Request,
    worker: WorkerUser,
    session: WriteSession,
) -> ResultAnswer:
    result = _result(job_id, element_id, body)
    status = reports.record_result(session, result, _policy(request))
    observe.results(request, session, worker, [result], status)
    work_added(request)  # one result: not worth telling apart what it made
    return ResultAnswer(jobid=job_id, elementid=element_id, status=status.name)


@router.put("/monitoring")
def monitor_many(
    body: list[Any], request: Request, worker: WorkerUser, session: WriteSession
) -> JSONResponse:
    """Many heartbeats (a list of ``BulkHeartbeat``); each is answered on its own."""
    items, answers = _items(BulkHeartbeat, body)
    beats = [_beat(b.jobid, b.elementid, b) for b in items if b is not None]
    replies: list[BeatReply] = reports.heartbeats(session, beats, _policy(request))
    observe.heartbeats(request, session, worker, beats, replies)
    return FastJSONResponse(_merge(answers, replies))


@router.put("/results")
async def report_many(request: Request, worker: WorkerUser) -> JSONResponse:
    """Many results (a JSON list of ``BulkResult``); each is answered on its own.

    A malformed item (a bad field, an invalid listing) is answered 422 or 400
    by itself and the rest of the batch is recorded. The batch is checked,
    recorded and committed on one thread hop (a ``WriteSession`` dependency
    costs two more, per batch, on the server's busiest route); the answer
    is sent after the commit. The body is read here, after the worker's token
    was checked, and parsed with its validation (``_items_of_json``).
    """
    db = request.app.state.db
    policy = _policy(request)
    raw = await request.body()

    def record() -> tuple[list[ResultReply], bool]:
        items, answers = _items_of_json(BulkResult, raw)
        results = [_result(b.jobid, b.elementid, b) for b in items if b is not None]
        recorded = reports.Recorded()
        if not results:  # every item refused as malformed: nothing to open a transaction for
            return _merge(answers, []), False
        with db.write() as session:
            served = reports.record_results(session, results, policy, recorded)
            observe.results(request, session, worker, results, served, recorded.rows, recorded.jobs)
        return _merge(answers, served), recorded.made_work

    answers, made_work = await run_in_threadpool(record)
    if made_work:
        work_added(request)
        signal_if_work_added(request)  # after the commit, so woken claims see the rows
    return FastJSONResponse(answers)


@router.put("/host_key")
def pin_host_key(body: HostKeyPin, worker: WorkerUser, session: WriteSession) -> PinnedKey:
    """Trust on first use: the first connection to an SFTP site records its host key."""
    pinned = site_service.pin_host_key(
        session, body.jobid, body.elementid, body.token, body.site_id, body.host_key
    )
    return PinnedKey(site_id=body.site_id, host_key=pinned)
