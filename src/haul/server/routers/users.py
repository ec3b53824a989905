"""Accounts, login and tokens under /users/api/v1.0."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from haul.domain.enums import Role
from haul.server.deps import (
    NEEDS_USER,
    USER_ROLES,
    AppSettings,
    CurrentAuth,
    CurrentUser,
    Db,
    ReadSession,
    WriteSession,
    require_role,
    token_of,
)
from haul.server.login_throttle import throttled_login
from haul.server.schemas import ChangePassword, Login, NewToken, PathId, RegisterUser
from haul.server.views import iso
from haul.services import users as user_service
from haul.services.errors import Forbidden
from haul.store.tables import Token, User

router = APIRouter()


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "user_id": user.id,
        "email": user.email,
        "name": user.name,
        "roles": user_service.roles_of(user),
        "created": iso(user.created),
    }


def token_json(row: Token) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "created": iso(row.created),
        "expires": iso(row.expires),
        "revoked": row.revoked,
    }


def _caller_if_any(session: Any, authorization: str | None, x_token: str | None) -> User | None:
    token = token_of(authorization, x_token)
    if not token:
        return None
    return require_role(user_service.authenticate(session, token), USER_ROLES, NEEDS_USER)


@router.post("/users")
def register(
    body: RegisterUser,
    db: Db,
    settings: AppSettings,
    authorization: str | None = Header(default=None),
    x_token: str | None = Header(default=None),
) -> JSONResponse:
    """Open registration, or an admin creating an account (argon2 outside the write)."""
    with db.read() as session:
        caller = _caller_if_any(session, authorization, x_token)
    if not settings.open_registration and (caller is None or caller.role != Role.ADMIN):
        raise Forbidden("registration is closed on this server; ask an admin for an account")
    user = user_service.register(db, body.email, body.passwd, name=body.name)
    return JSONResponse(user_json(user), status_code=201)


@router.post("/login")
def login(body: Login, request: Request, db: Db, settings: AppSettings) -> dict[str, Any]:
    """Password login; throttled per account and per client address (429 + Retry-After)."""
    lifetime = body.lifetime or settings.login_token_seconds
    user, token, row = throttled_login(request, db, body.email, body.passwd, lifetime)
    return {"token": token, "user_id": user.id, "expires": iso(row.expires)}


@router.get("/users/self")
def get_self(user: CurrentUser) -> dict[str, Any]:
    return user_json(user)


@router.delete("/users/self")
def delete_self(user: CurrentUser, session: WriteSession) -> dict[str, Any]:
    user_service.delete_self(session, user.id)
    return {"deleted": user.id}


@router.put("/passwd")
def change_password(body: ChangePassword, auth: CurrentAuth, db: Db) -> dict:
    """Sets a new password; every other token of the account is revoked."""
    revoked = user_service.change_password(
        db, auth.user.id, body.passwd, body.newpasswd, keep_token=auth.token_id
    )
    return {"changed": True, "revoked_tokens": revoked}


@router.get("/tokens")
def list_tokens(user: CurrentUser, session: ReadSession) -> list[dict[str, Any]]:
    return [token_json(t) for t in user_service.list_tokens(session, user)]


@router.post("/tokens")
def create_token(body: NewToken, auth: CurrentAuth, session: WriteSession) -> JSONResponse:
    """A new token, never outliving the one that asks for it (admins excepted)."""
    token, row = user_service.issue_token(
        session, auth.user, body.name, body.lifetime, minted_by_expires=auth.expires
    )
    return JSONResponse(token_json(row) | {"token": token}, status_code=201)


@router.delete("/tokens/{token_id}")
def revoke_token(token_id: PathId, user: CurrentUser, session: WriteSession) -> dict[str, Any]:
    user_service.revoke_token(session, user, token_id)
    return {"revoked": token_id}
