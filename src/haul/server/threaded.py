"""Read handlers that do their work on one thread hop and answer from the event loop.

FastAPI serialises a plain ``def`` handler's answer on a second thread hop,
while the request's database session (a ``scope="function"`` dependency)
still holds its connection. Under load every thread can be busy waiting for
a connection that is held by a request waiting for a thread: the pool and
the thread limiter deadlock until the pool times out (seen with 100 clients
polling job status: 30 s waits, then 500s). A handler wrapped here is a
coroutine to FastAPI: its body runs on one thread hop, and its answer is
serialised on the event loop, so a connection is never held while waiting
for a thread.

A handler that takes both a caller (``CurrentUser``, ``AdminUser``, ...)
and a ``ReadSession`` costs, as plain dependencies, four thread hops and two
transactions: the token lookup in its own session, the session's enter and
exit, the body. Polled routes (job status, 100 clients at once) spent more
time in those hops and in contending for the GIL after them than in their
queries. For such a handler the wrapper takes the two parameters off the
signature FastAPI sees and puts one ``Caller`` (the token, not yet looked
up) in their place; on its single hop it opens the read transaction, checks
the token and the role in it (``deps.require_role``, the one home of the
role rules), runs the body and commits, before the answer is sent.

A handler that takes a caller and a ``WriteSession`` (a submission) is fused
the same way around a write transaction, and sends the work signal after
the commit as the write session would: as plain dependencies it held
SQLite's write lock across two waits for a thread.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.params import Depends as DependsParam

from haul.server.deps import (
    ROLE_RULES,
    CallerArg,
    read_session,
    require_role,
    write_session,
)
from haul.server.thread_hop import ThreadHop
from haul.server.work_signal import signal_if_work_added
from haul.store.database import THREADS

P = ParamSpec("P")
T = TypeVar("T")

# The fused routes' threads: one hop each way per request (server/thread_hop.py).
HOP = ThreadHop(THREADS, "haul-route")
CALLER_PARAM = "haul_caller"  # the parameter that replaces the caller and the session
REQUEST_PARAM = "haul_request"  # a written handler's request, for the work signal


def in_thread(handler: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """``handler`` as an async route: FastAPI reads its signature through the wrapper."""
    fused = _fusable(handler)
    if fused is not None:
        return _fused(handler, *fused)

    @functools.wraps(handler)
    async def route(*args: P.args, **kwargs: P.kwargs) -> T:
        return await run_in_threadpool(handler, *args, **kwargs)

    return route


def _dependency(annotation: Any) -> Any:
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, DependsParam):
            return meta.dependency
    return None


def _fusable(
    handler: Callable[..., Any],
) -> tuple[str, str, tuple[frozenset[str], str], bool] | None:
    """(caller parameter, session parameter, role rule, writes) when the handler takes both."""
    hints = typing.get_type_hints(handler, include_extras=True)
    user = session = rule = None
    writes = False
    for name in inspect.signature(handler).parameters:
        dep = _dependency(hints.get(name))
        if dep in ROLE_RULES:
            user, rule = name, ROLE_RULES[dep]
        elif dep is read_session or dep is write_session:
            session, writes = name, dep is write_session
    if user is None or session is None or rule is None:
        return None
    return user, session, rule, writes


def _fused(
    handler: Callable[..., T],
    user: str,
    session: str,
    rule: tuple[frozenset[str], str],
    writes: bool,
) -> Callable[..., Awaitable[T]]:
    hints = typing.get_type_hints(handler, include_extras=True)
    params = [
        p.replace(annotation=hints.get(name, p.annotation))
        for name, p in inspect.signature(handler).parameters.items()
        if name not in (user, session)
    ]
    params.append(
        inspect.Parameter(CALLER_PARAM, inspect.Parameter.KEYWORD_ONLY, annotation=CallerArg)
    )
    # FastAPI fills one parameter annotated Request: the handler's own, or ours.
    own_request = next((n for n, h in hints.items() if h is Request and n != "return"), None)
    request_param = own_request or REQUEST_PARAM
    if writes and own_request is None:
        params.append(
            inspect.Parameter(REQUEST_PARAM, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
        )
    roles, needs = rule

    def body(kwargs: dict[str, Any]) -> T:
        caller = kwargs.pop(CALLER_PARAM)
        if not writes:
            with caller.db.read() as s:
                found = require_role(caller.authenticate(s).user, roles, needs)
                return handler(**kwargs, **{user: found, session: s})
        request = kwargs[request_param] if own_request else kwargs.pop(REQUEST_PARAM)
        with caller.db.write() as s:
            found = require_role(caller.authenticate(s).user, roles, needs)
            out = handler(**kwargs, **{user: found, session: s})
        signal_if_work_added(request)  # after the commit, so woken claims see the rows
        return out

    @functools.wraps(handler)
    async def route(**kwargs: Any) -> T:
        return await HOP.run(body, kwargs)

    route.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        params, return_annotation=hints.get("return", inspect.Signature.empty)
    )
    return route
