"""Accounts' and tokens' SQL (``services/users.py``, ``bootstrap.py``, ``web_signin.py``,
the upload site's owner in ``uploads.py``).

Emails are stored lower-case and compared as given (the services normalise
them). A token is found by its hash, never by its secret. The statement that
runs on every request, a token with its user, is built once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from haul.domain.enums import Role
from haul.store.tables import Token, User

_BY_TOKEN = (
    select(User, Token.id, Token.revoked, Token.expires)
    .join(Token, Token.user_id == User.id)
    .where(Token.token_hash == bindparam("token_hash"))
)


def token_with_user(session: Session, token_hash: str) -> Any:
    """(User, id, revoked, expires) of the token with this hash, or None."""
    return session.execute(_BY_TOKEN, {"token_hash": token_hash}).first()


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email))


def email_taken(session: Session, email: str) -> bool:
    return session.scalar(select(User.id).where(User.email == email)) is not None


def first_admin(session: Session) -> User | None:
    """The admin account created first (``haul run`` hands its token out)."""
    return session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id).limit(1))


def password_hash(session: Session, user_id: int) -> str | None:
    return session.scalar(select(User.password_hash).where(User.id == user_id))


def token_by_hash(session: Session, token_hash: str) -> Token | None:
    return session.scalar(select(Token).where(Token.token_hash == token_hash))


def tokens_of(session: Session, user_id: int) -> list[Token]:
    return list(session.scalars(select(Token).where(Token.user_id == user_id).order_by(Token.id)))


def revoke_tokens(
    session: Session, user_id: int, *, keep: int | None = None, name: str | None = None
) -> int:
    """Revokes the account's live tokens (all but ``keep``; only those named ``name``);
    returns how many."""
    q = update(Token).where(Token.user_id == user_id, Token.revoked.is_(False))
    if keep is not None:
        q = q.where(Token.id != keep)
    if name is not None:
        q = q.where(Token.name == name)
    return session.execute(q.values(revoked=True)).rowcount or 0
