"""Request dependencies: the store, the caller, and what each kind of token may do.

The role rules live here and nowhere else. Every route names the caller it
needs, and that choice decides which tokens get through:

- ``CurrentUser``: user and admin tokens. Worker and metrics tokens get 403.
- ``WorkerUser``: worker and admin tokens (the worker protocol).
- ``MetricsReader``: metrics and admin tokens (``/metrics``).

Dependencies that only read app state or check a role are ``async``: FastAPI
runs every sync dependency on a thread-pool hop of its own, and on the worker
routes those hops cost more than the checks themselves. When the auth gate
(server/auth_gate.py) already checked the token before the body was read,
its answer is reused instead of looked up again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from haul.config import Settings
from haul.domain.enums import USER_ROLES, Role
from haul.security.secret_box import SecretBox
from haul.server.work_signal import signal_if_work_added
from haul.services.errors import Forbidden, Unauthorized
from haul.services.users import Authenticated, authenticate_token
from haul.store.database import Database
from haul.store.tables import User

AUTH_STATE_KEY = "haul.auth"  # scope["state"] key the auth gate leaves its answer under

WORKER_ONLY = "worker tokens may only use the worker protocol"
METRICS_ONLY = "metrics tokens may only read /metrics"
NEEDS_USER = "this needs a user token"
NEEDS_METRICS = "reading /metrics needs an admin or metrics token"
NEEDS_ADMIN = "this needs the admin role"
NEEDS_WORKER = "this needs the worker role"
_LIMITED = {Role.WORKER.value: WORKER_ONLY, Role.METRICS.value: METRICS_ONLY}

WORKER_ROLES = frozenset({Role.WORKER.value, Role.ADMIN.value})
METRICS_ROLES = frozenset({Role.METRICS.value, Role.ADMIN.value})
ADMIN_ROLES = frozenset({Role.ADMIN.value})


async def database(request: Request) -> Database:
    return request.app.state.db


async def settings(request: Request) -> Settings:
    return request.app.state.settings


async def secret_box(request: Request) -> SecretBox:
    return request.app.state.box


def token_of(authorization: str | None, x_token: str | None) -> str | None:
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        raise Unauthorized("Authorization header must be 'Bearer <token>'")
    if x_token:
        return x_token.strip()
    return None


def require_role(user: User, allowed: frozenset[str], needs: str) -> User:
    """The one check of what a token's role may call (also used by the auth gate)."""
    if user.role in allowed:
        return user
    raise Forbidden(_LIMITED.get(user.role, needs))


def lookup(db: Database, token: str) -> Authenticated:
    with db.read() as session:
        found = authenticate_token(session, token)
        session.expunge(found.user)
    return found


async def authenticated(
    request: Request,
    db: Annotated[Database, Depends(database)],
    authorization: Annotated[str | None, Header()] = None,
    x_token: Annotated[str | None, Header()] = None,
) -> Authenticated:
    cached = request.scope.get("state", {}).get(AUTH_STATE_KEY)
    if cached is not None:
        return cached
    token = token_of(authorization, x_token)
    if token is None:
        raise Unauthorized("no token: send 'Authorization: Bearer <token>' or 'X-Token'")
    return await run_in_threadpool(lookup, db, token)


@dataclass(frozen=True)
class Caller:
    """Who calls, before the token is looked up (server/threaded.py looks it up
    in the handler's own read transaction, on the handler's thread)."""

    db: Database
    token: str | None
    known: Authenticated | None  # the auth gate's answer, when it already checked

    def authenticate(self, session: Session) -> Authenticated:
        if self.known is not None:
            return self.known
        assert self.token is not None  # caller() refuses a request without one
        return authenticate_token(session, self.token)


async def caller(request: Request) -> Caller:
    # Headers are read here rather than declared as parameters: on the polled
    # routes each declared parameter costs a validation pass per request.
    known = request.scope.get("state", {}).get(AUTH_STATE_KEY)
    headers = request.headers
    token = None
    if known is None:
        token = token_of(headers.get("authorization"), headers.get("x-token"))
    if known is None and token is None:
        raise Unauthorized("no token: send 'Authorization: Bearer <token>' or 'X-Token'")
    db = request.app.state.db
    return Caller(db, token, known)


async def current_user(auth: Annotated[Authenticated, Depends(authenticated)]) -> User:
    return require_role(auth.user, USER_ROLES, NEEDS_USER)


async def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    return require_role(user, ADMIN_ROLES, NEEDS_ADMIN)


async def worker_user(auth: Annotated[Authenticated, Depends(authenticated)]) -> User:
    return require_role(auth.user, WORKER_ROLES, NEEDS_WORKER)


async def metrics_reader(auth: Annotated[Authenticated, Depends(authenticated)]) -> User:
    return require_role(auth.user, METRICS_ROLES, NEEDS_METRICS)


async def user_auth(
    auth: Annotated[Authenticated, Depends(authenticated)],
    _: Annotated[User, Depends(current_user)],
) -> Authenticated:
    """The caller and its token, for the routes whose rules involve the token itself."""
    return auth


def read_session(db: Annotated[Database, Depends(database)]) -> Iterator[Session]:
    with db.read() as session:
        yield session


def write_session(
    request: Request, db: Annotated[Database, Depends(database)]
) -> Iterator[Session]:
    with db.write() as session:
        yield session
    signal_if_work_added(request)  # after the commit, so woken claims see the rows


# The roles each caller dependency admits, and the refusal for the others:
# what server/threaded.py applies when it looks the token up itself.
ROLE_RULES: dict[object, tuple[frozenset[str], str]] = {
    current_user: (USER_ROLES, NEEDS_USER),
    admin_user: (ADMIN_ROLES, NEEDS_ADMIN),
    worker_user: (WORKER_ROLES, NEEDS_WORKER),
    metrics_reader: (METRICS_ROLES, NEEDS_METRICS),
}

CallerArg = Annotated[Caller, Depends(caller)]
CurrentUser = Annotated[User, Depends(current_user)]
CurrentAuth = Annotated[Authenticated, Depends(user_auth)]
AdminUser = Annotated[User, Depends(admin_user)]
WorkerUser = Annotated[User, Depends(worker_user)]
MetricsReader = Annotated[User, Depends(metrics_reader)]
# scope="function": the transaction ends (commits) before the response is sent,
# so a client never sees a 200 for a write that is not yet visible, or that failed.
ReadSession = Annotated[Session, Depends(read_session, scope="function")]
WriteSession = Annotated[Session, Depends(write_session, scope="function")]
AppSettings = Annotated[Settings, Depends(settings)]
Box = Annotated[SecretBox, Depends(secret_box)]
Db = Annotated[Database, Depends(database)]
