"""Checks the token of a request that carries a body before any of the body is read.

FastAPI reads and parses a route's body before it runs the route's
dependencies, so without this gate a stranger could make the server read and
parse up to the route's body limit (512 MB on the worker routes) only to be
told 401 afterwards. The gate sits between the body limit and the app: for a
request that may carry a body to a route that needs a token, it looks the
token up first and answers 401 (or 403 for a role the route prefix never
admits) without calling ``receive``, with ``Connection: close`` so the server
stops reading the rest. A good answer is left in ``scope["state"]`` for the
route's own dependency (server/deps.py), so the token is looked up once;
a good answer is also remembered for a second (server/token_cache.py says
how promptly a revocation or ban is obeyed).

Requests without a body (GET, HEAD, OPTIONS) pass straight through: the
route's dependency authenticates them as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from anyio import to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from haul.server.deps import (
    AUTH_STATE_KEY,
    NEEDS_WORKER,
    WORKER_ROLES,
    lookup,
    require_role,
    token_of,
)
from haul.server.token_cache import new_cache
from haul.services.errors import ServiceError, Unauthorized
from haul.services.users import Authenticated
from haul.store.database import Database

BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class GateRules:
    """Which paths the gate guards.

    ``guarded``: path prefixes whose body-carrying requests need a token.
    ``anonymous``: (method, path) pairs under those prefixes that take a body
    without a token (login, registration); the default body limit bounds them.
    ``worker_prefix``: paths only worker and admin tokens may send bodies to.
    """

    guarded: tuple[str, ...]
    anonymous: frozenset[tuple[str, str]]
    worker_prefix: str

    def needs_token(self, method: str, path: str) -> bool:
        if method in BODYLESS or (method, path.rstrip("/")) in self.anonymous:
            return False
        return path.startswith(self.guarded)


class AuthGate:
    def __init__(self, app: ASGIApp, db: Database, rules: GateRules) -> None:
        self.app = app
        self.db = db
        self.rules = rules
        self.tokens = new_cache()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.rules.needs_token(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        try:
            auth = await self._authenticate(scope["headers"])
            if scope["path"].startswith(self.rules.worker_prefix):
                require_role(auth.user, WORKER_ROLES, NEEDS_WORKER)
        except ServiceError as exc:
            await _refuse(send, exc.status, exc.detail)
            return
        scope.setdefault("state", {})[AUTH_STATE_KEY] = auth
        await self.app(scope, receive, send)

    async def _authenticate(self, headers: Iterable[tuple[bytes, bytes]]) -> Authenticated:
        authorization = x_token = None
        for name, value in headers:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"x-token":
                x_token = value.decode("latin-1")
        token = token_of(authorization, x_token)
        if token is None:
            raise Unauthorized("no token: send 'Authorization: Bearer <token>' or 'X-Token'")
        known = self.tokens.get(token)
        if known is not None:
            return known  # looked up within the last second (server/token_cache.py)
        generation, read_at = self.tokens.generation, self.tokens.clock()
        found = await to_thread.run_sync(lookup, self.db, token)
        self.tokens.put(token, found, generation, read_at)
        return found


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The body was never read: close rather than drain it for keep-alive.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
