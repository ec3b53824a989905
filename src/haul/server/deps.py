"""Request dependencies: the store, the caller, and role checks.

Dependencies that only read app state or check a role are ``async``: FastAPI
runs every sync dependency on a thread-pool hop of its own, and on the worker
routes those hops cost more than the checks themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from haul.config import Settings
from haul.server.secrets_box import SecretBox
from haul.server.work_signal import signal_if_work_added
from haul.services.errors import Forbidden, Unauthorized
from haul.services.users import authenticate
from haul.store.database import Database
from haul.store.tables import User


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


def current_user(
    db: Annotated[Database, Depends(database)],
    authorization: Annotated[str | None, Header()] = None,
    x_token: Annotated[str | None, Header()] = None,
) -> User:
    token = token_of(authorization, x_token)
    if token is None:
        raise Unauthorized("no token: send 'Authorization: Bearer <token>' or 'X-Token'")
    with db.read() as session:
        user = authenticate(session, token)
        session.expunge(user)
    return user


async def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if user.role != "admin":
        raise Forbidden("this needs the admin role")
    return user


async def worker_user(user: Annotated[User, Depends(current_user)]) -> User:
    if user.role not in ("worker", "admin"):
        raise Forbidden("this needs the worker role")
    return user


def read_session(db: Annotated[Database, Depends(database)]) -> Iterator[Session]:
    with db.read() as session:
        yield session


def write_session(
    request: Request, db: Annotated[Database, Depends(database)]
) -> Iterator[Session]:
    with db.write() as session:
        yield session
    signal_if_work_added(request)  # after the commit, so woken claims see the rows


CurrentUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(admin_user)]
WorkerUser = Annotated[User, Depends(worker_user)]
# scope="function": the transaction ends (commits) before the response is sent,
# so a client never sees a 200 for a write that is not yet visible, or that failed.
ReadSession = Annotated[Session, Depends(read_session, scope="function")]
WriteSession = Annotated[Session, Depends(write_session, scope="function")]
AppSettings = Annotated[Settings, Depends(settings)]
Box = Annotated[SecretBox, Depends(secret_box)]
