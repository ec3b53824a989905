"""Accounts and API tokens."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from haul.server.passwords import hash_password, hash_token, new_token, verify_password
from haul.services.errors import BadRequest, Conflict, NotFound, Unauthorized
from haul.store.clock import as_utc, utcnow
from haul.store.tables import Token, User

ROLES = ("user", "admin", "worker")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
MIN_PASSWORD = 8
MAX_TOKEN_SECONDS = 5 * 365 * 24 * 3600


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 320:
        raise BadRequest("email: not a valid email address")
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"passwd: must be at least {MIN_PASSWORD} characters")


def roles_of(user: User) -> list[str]:
    if user.role == "admin":
        return ["user", "admin"]
    return [user.role]


def create_user(
    session: Session,
    email: str,
    password: str | None,
    *,
    role: str = "user",
    name: str = "",
) -> User:
    if role not in ROLES:
        raise BadRequest(f"role: expected one of {', '.join(ROLES)}")
    email = email.strip().lower() if role == "worker" else normalise_email(email)
    if password is not None:
        check_password(password)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with email {email} already exists")
    user = User(
        email=email,
        name=name,
        role=role,
        password_hash=hash_password(password) if password is not None else None,
    )
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, ref: str | int) -> User:
    """A user by id or email (admins name users either way)."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        user = session.get(User, int(ref))
    else:
        user = session.scalar(select(User).where(User.email == str(ref).strip().lower()))
    if user is None:
        raise NotFound(f"no such user: {ref}")
    return user


def login(session: Session, email: str, password: str, lifetime: int) -> tuple[User, str, Token]:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or user.banned:
        raise Unauthorized("wrong email or password")
    token, row = issue_token(session, user, "login", lifetime)
    return user, token, row


def issue_token(session: Session, user: User, name: str, lifetime: int) -> tuple[str, Token]:
    if lifetime <= 0 or lifetime > MAX_TOKEN_SECONDS:
        raise BadRequest(f"lifetime: must be between 1 and {MAX_TOKEN_SECONDS} seconds")
    token = new_token()
    row = Token(
        user_id=user.id,
        name=name,
        token_hash=hash_token(token),
        expires=utcnow() + timedelta(seconds=lifetime),
    )
    session.add(row)
    session.flush()
    return token, row


def authenticate(session: Session, token: str) -> User:
    # One query for token and user: this runs on every request, and each ORM
    # query has a fixed cost that shows on the worker routes.
    found = session.execute(
        select(User, Token.revoked, Token.expires)
        .join(Token, Token.user_id == User.id)
        .where(Token.token_hash == hash_token(token))
    ).first()
    if found is None or found.revoked:
        raise Unauthorized("invalid or revoked token")
    expires = as_utc(found.expires)
    if expires is not None and expires <= utcnow():
        raise Unauthorized("token expired")
    user = found.User
    if user.banned:
        raise Unauthorized("this account is banned")
    return user


def revoke_token(session: Session, user: User, token_id: int) -> None:
    row = session.get(Token, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"no such token: {token_id}")
    row.revoked = True


def list_tokens(session: Session, user: User) -> list[Token]:
    return list(session.scalars(select(Token).where(Token.user_id == user.id).order_by(Token.id)))


def change_password(session: Session, user: User, old: str, new: str) -> None:
    if not verify_password(user.password_hash, old):
        raise Unauthorized("wrong password")
    check_password(new)
    user.password_hash = hash_password(new)


def delete_user(session: Session, user: User) -> None:
    session.delete(user)


def token_expiry(row: Token) -> datetime:
    expires = as_utc(row.expires)
    assert expires is not None
    return expires
