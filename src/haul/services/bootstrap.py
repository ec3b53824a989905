"""First-run set-up: the admin account that `haul run` prints a token for."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from haul.domain.enums import Role
from haul.services.users import create_user, issue_token
from haul.store.tables import User

ADMIN_EMAIL = "admin@localhost"
LOCAL_WORKER = "worker:local"
ADMIN_TOKEN_SECONDS = 30 * 24 * 3600


def admin_token(session: Session) -> str:
    """A fresh token for the first admin, creating the account on first run."""
    admin = session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id).limit(1))
    if admin is None:
        admin = create_user(session, ADMIN_EMAIL, None, role=Role.ADMIN.value, name="admin")
    token, _ = issue_token(session, admin, "haul run", ADMIN_TOKEN_SECONDS)
    return token


def local_worker_token(session: Session) -> str:
    """A fresh token for the worker `haul run` starts beside the server."""
    worker = session.scalar(select(User).where(User.email == LOCAL_WORKER))
    if worker is None:
        worker = create_user(session, LOCAL_WORKER, None, role=Role.WORKER.value, name="local")
    token, _ = issue_token(session, worker, "haul run", ADMIN_TOKEN_SECONDS)
    return token
