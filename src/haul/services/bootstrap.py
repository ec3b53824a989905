"""First-run set-up: the admin account that `haul run` prints a token for.

Each `haul run` rotates its tokens: the admin and worker tokens an earlier
`haul run` minted are revoked when new ones are made, so restarting does not
leave a trail of valid 30-day admin tokens behind, and the banner says so.
(The port is checked before this runs, so a second `haul run` on a busy
port cannot revoke the tokens of the one already serving.)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from haul.domain.enums import Role
from haul.services.users import create_user, issue_token
from haul.store.queries import accounts
from haul.store.tables import User

ADMIN_EMAIL = "admin@localhost"
LOCAL_WORKER = "worker:local"
ADMIN_TOKEN_SECONDS = 30 * 24 * 3600
RUN_TOKEN_NAME = "haul run"


@dataclass(frozen=True)
class RunToken:
    token: str
    user: User
    revoked: int  # earlier `haul run` tokens of the account this one replaces


def _rotate(session: Session, user: User) -> RunToken:
    revoked = accounts.revoke_tokens(session, user.id, name=RUN_TOKEN_NAME)
    token, _ = issue_token(session, user, RUN_TOKEN_NAME, ADMIN_TOKEN_SECONDS)
    return RunToken(token, user, revoked)


def admin_token(session: Session) -> RunToken:
    """A fresh token for the first admin (created on first run); earlier ones are revoked."""
    admin = accounts.first_admin(session)
    if admin is None:
        admin = create_user(session, ADMIN_EMAIL, None, role=Role.ADMIN.value, name="admin")
    return _rotate(session, admin)


def local_worker_token(session: Session) -> str:
    """A fresh token for the worker `haul run` starts beside the server."""
    worker = accounts.user_by_email(session, LOCAL_WORKER)
    if worker is None:
        worker = create_user(session, LOCAL_WORKER, None, role=Role.WORKER.value, name="local")
    return _rotate(session, worker).token
