"""Accounts and API tokens.

Password checks (argon2, slow on purpose) run outside any write transaction:
on SQLite a write transaction holds the database's single write lock, and a
login flood must not slow every other writer down to argon2's pace. So the
functions that verify a password take the ``Database`` and open their own
short transactions around the check.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from haul.domain.enums import USER_ROLES, Role
from haul.security.passwords import hash_password, verify_password
from haul.security.tokens import hash_token, new_token
from haul.services.errors import BadRequest, Conflict, NotFound, Unauthorized
from haul.store.clock import as_utc, utcnow
from haul.store.database import Database
from haul.store.queries import accounts
from haul.store.tables import Token, User

# "worker" tokens may use only the worker protocol, "metrics" tokens only /metrics
# (server/deps.py enforces both).
ROLES = tuple(r.value for r in Role if r is not Role.SYSTEM)  # what an account may be given
SERVICE_ROLES = (Role.WORKER, Role.METRICS)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
MIN_PASSWORD = 8
MAX_TOKEN_SECONDS = 5 * 365 * 24 * 3600
API_TOKEN_SECONDS = 30 * 24 * 3600  # POST /tokens without a lifetime


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 320:
        raise BadRequest("email: not a valid email address")
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"passwd: must be at least {MIN_PASSWORD} characters")


def roles_of(user: User) -> list[str]:
    if user.role == Role.ADMIN:
        return [Role.USER.value, Role.ADMIN.value]
    return [user.role]


def create_user(
    session: Session,
    email: str,
    password: str | None,
    *,
    role: str = Role.USER.value,
    name: str = "",
) -> User:
    if role not in ROLES:
        raise BadRequest(f"role: expected one of {', '.join(ROLES)}")
    # Service accounts are named "worker:NAME", "metrics:NAME": no @, so no one registers them.
    email = email.strip().lower() if role in SERVICE_ROLES else normalise_email(email)
    if password is not None:
        check_password(password)
    if accounts.email_taken(session, email):
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


def register(db: Database, email: str, password: str, name: str = "") -> User:
    """A new user account, its password hashed before the write transaction opens."""
    email = normalise_email(email)
    check_password(password)
    hashed = hash_password(password)
    with db.write() as session:
        user = create_user(session, email, None, name=name)
        user.password_hash = hashed
        session.flush()
        session.expunge(user)
    return user


def find_user(session: Session, ref: str | int) -> User:
    """A user by id or email (admins name users either way)."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        user = session.get(User, int(ref))
    else:
        user = accounts.user_by_email(session, str(ref).strip().lower())
    if user is None:
        raise NotFound(f"no such user: {ref}")
    return user


def _password_owner(db: Database, email: str) -> User | None:
    with db.read() as session:
        user = accounts.user_by_email(session, email.strip().lower())
        if user is not None:
            session.expunge(user)
    return user


def login(db: Database, email: str, password: str, lifetime: int) -> tuple[User, str, Token]:
    """Checks the password with no transaction open, then issues a token."""
    user = _password_owner(db, email)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or user.banned:
        raise Unauthorized("wrong email or password")
    with db.write() as session:
        row_user = session.get(User, user.id)
        if row_user is None or row_user.banned or row_user.password_hash != user.password_hash:
            raise Unauthorized("wrong email or password")  # changed while we checked
        token, row = issue_token(session, row_user, "login", lifetime)
        session.expunge(row_user)
    return row_user, token, row


def remaining_seconds(expires: datetime | None) -> int | None:
    """Whole seconds a token has left (None: it never expires)."""
    if expires is None:
        return None
    return max(0, math.floor((expires - utcnow()).total_seconds()))


def issue_token(
    session: Session,
    user: User,
    name: str,
    lifetime: int | None,
    *,
    minted_by_expires: datetime | None = None,
    default_lifetime: int = API_TOKEN_SECONDS,
) -> tuple[str, Token]:
    """A new token; when another token mints it, it may not outlive that token.

    ``minted_by_expires`` is the expiry of the token making the request (None
    for a password login or the operator's CLI). A non-admin asking for more
    than that token has left gets a 400 naming the limit; one asking for no
    particular lifetime gets the default cut down to it. Admins are exempt.
    """
    left = None if user.role == Role.ADMIN else remaining_seconds(minted_by_expires)
    if lifetime is None:
        lifetime = default_lifetime if left is None else min(default_lifetime, left)
    if lifetime <= 0 or lifetime > MAX_TOKEN_SECONDS:
        raise BadRequest(f"lifetime: must be between 1 and {MAX_TOKEN_SECONDS} seconds")
    if left is not None and lifetime > left:
        raise BadRequest(
            f"lifetime: the token making this request expires in {left} seconds, and a "
            f"token cannot create one that outlives it; ask for at most {left} seconds, "
            "or log in with your password for a longer-lived token"
        )
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


@dataclass(frozen=True)
class Authenticated:
    """Who a token speaks for, and which token it is (token rules need both)."""

    user: User
    token_id: int
    expires: datetime | None


def authenticate(session: Session, token: str) -> User:
    return authenticate_token(session, token).user


def authenticate_token(session: Session, token: str) -> Authenticated:
    """Runs on every request: one prebuilt query for the token and its user."""
    found = accounts.token_with_user(session, hash_token(token))
    if found is None or found.revoked:
        raise Unauthorized("invalid or revoked token")
    expires = as_utc(found.expires)
    if expires is not None and expires <= utcnow():
        raise Unauthorized("token expired")
    user = found.User
    if user.banned:
        raise Unauthorized("this account is banned")
    return Authenticated(user, found.id, expires)


def revoke_token(session: Session, user: User, token_id: int) -> None:
    row = session.get(Token, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"no such token: {token_id}")
    row.revoked = True


def revoke_presented(session: Session, token: str) -> None:
    """Revokes the token a caller presents (signing out of the dashboard).

    An unknown token is no session to end, so it is no error.
    """
    row = accounts.token_by_hash(session, hash_token(token))
    owner = session.get(User, row.user_id) if row is not None else None
    if row is not None and owner is not None:
        revoke_token(session, owner, row.id)


def list_tokens(session: Session, user: User) -> list[Token]:
    return accounts.tokens_of(session, user.id)


def change_password(db: Database, user_id: int, old: str, new: str, keep_token: int) -> int:
    """Sets a new password and revokes the account's other tokens.

    A password change is what people do when they fear a token or the password
    leaked, so every token but ``keep_token`` (the one making the change)
    stops working. Both argon2 runs happen outside the write transaction.
    Returns how many tokens were revoked.
    """
    check_password(new)
    with db.read() as session:
        stored = accounts.password_hash(session, user_id)
    if not verify_password(stored, old):
        raise Unauthorized("wrong password")
    new_hash = hash_password(new)
    with db.write() as session:
        row = session.get(User, user_id)
        if row is None:
            raise NotFound(f"no such user: {user_id}")
        if row.password_hash != stored:
            raise Conflict("the password changed meanwhile; try again")
        row.password_hash = new_hash
        return accounts.revoke_tokens(session, user_id, keep=keep_token)


def set_password(db: Database, email: str, password: str) -> User:
    """An operator sets or resets a password (`haul admin set-password`); argon2 runs first."""
    check_password(password)
    new_hash = hash_password(password)
    with db.write() as session:
        user = find_user(session, email)
        if user.role not in USER_ROLES:
            raise BadRequest(f"{user.email} is a {user.role} account; it signs in with tokens only")
        user.password_hash = new_hash
        session.flush()
        session.expunge(user)
    return user


def delete_user(session: Session, user: User) -> None:
    session.delete(user)


def delete_self(session: Session, user_id: int) -> None:
    """The caller's own account goes (one already gone is no error: the answer is the same)."""
    row = session.get(User, user_id)
    if row is not None:
        delete_user(session, row)


def token_expiry(row: Token) -> datetime:
    expires = as_utc(row.expires)
    assert expires is not None
    return expires
