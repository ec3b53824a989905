"""One-time dashboard sign-in links, and signing in to the dashboard with an API token.

`haul run` prints a link so a new user is one click from /web although the
built-in admin has no password. The link's code is kept in the tokens table
under a hash of ``"sign-in:" + code``, never of the code itself, so the
code is not an API token: presenting it as a Bearer token finds nothing.
It works once (redeeming revokes it) and for ``SIGNIN_LINK_SECONDS``.

Either way of signing in gives the browser a token of its own (named "web"),
so logging out of the dashboard revokes that session and never the API token
or link that opened it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from haul.security.tokens import hash_token, new_token
from haul.services.errors import Unauthorized
from haul.services.users import authenticate_token, issue_token
from haul.store.clock import as_utc, utcnow
from haul.store.queries import accounts
from haul.store.tables import Token, User

SIGNIN_LINK_SECONDS = 10 * 60
SIGNIN_LINK_NAME = "dashboard sign-in link"
WEB_SESSION_NAME = "web"
LINK_PATH = "/web/login/link"


def _link_hash(code: str) -> str:
    return hash_token("sign-in:" + code)


def issue_signin_link(session: Session, user: User, base_url: str) -> str:
    """A URL that signs ``user`` in to the dashboard once, within SIGNIN_LINK_SECONDS."""
    code = new_token()
    session.add(
        Token(
            user_id=user.id,
            name=SIGNIN_LINK_NAME,
            token_hash=_link_hash(code),
            expires=utcnow() + timedelta(seconds=SIGNIN_LINK_SECONDS),
        )
    )
    session.flush()
    return f"{base_url.rstrip('/')}{LINK_PATH}?code={code}"


def redeem_signin_link(session: Session, code: str, lifetime: int) -> tuple[User, str, Token]:
    """Uses up a link's code and returns a new dashboard session token."""
    row = accounts.token_by_hash(session, _link_hash(code))
    expires = as_utc(row.expires) if row is not None else None
    if row is None or row.revoked or expires is None or expires <= utcnow():
        raise Unauthorized(
            "this sign-in link was used already or has expired; links work once, for "
            f"{SIGNIN_LINK_SECONDS // 60} minutes (restart `haul run` for a new one, or "
            "sign in with an API token)"
        )
    row.revoked = True
    user = session.get(User, row.user_id)
    if user is None or user.banned:
        raise Unauthorized("this sign-in link's account is gone or banned")
    token, web = issue_token(session, user, WEB_SESSION_NAME, lifetime)
    return user, token, web


def signin_with_token(session: Session, api_token: str, lifetime: int) -> tuple[User, str, Token]:
    """A dashboard session for whoever ``api_token`` speaks for; it never outlives that token."""
    who = authenticate_token(session, api_token.strip())
    if who.expires is not None:
        left = int((who.expires - utcnow()).total_seconds())
        lifetime = max(1, min(lifetime, left))
    token, web = issue_token(session, who.user, WEB_SESSION_NAME, lifetime)
    return who.user, token, web

