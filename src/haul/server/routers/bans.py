"""Admin bans (FTS3 semantics) under /workqueue/api/v1.0/ban."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from haul.domain.enums import BanAction, BanKind
from haul.server.deps import AdminUser, ReadSession, WriteSession
from haul.services import bans

router = APIRouter(prefix="/ban")


class BanSE(BaseModel):
    storage: str | int
    status: str = BanAction.CANCEL.value
    timeout: int | None = Field(default=None, ge=0)
    allow_submit: bool = False
    message: str = Field(default="", max_length=1000)


class BanDN(BaseModel):
    user: str | int
    message: str = Field(default="", max_length=1000)


@router.post("/se")
def ban_se(body: BanSE, admin: AdminUser, session: WriteSession) -> dict[str, Any]:
    return bans.ban_se(
        session,
        admin,
        body.storage,
        body.status.lower(),
        body.timeout,
        body.allow_submit,
        body.message,
    )


@router.delete("/se")
def unban_se(
    admin: AdminUser,
    session: WriteSession,
    storage: str = Query(description="site id or endpoint URL"),
) -> dict[str, Any]:
    return bans.unban_se(session, storage)


@router.get("/se")
def list_se(admin: AdminUser, session: ReadSession) -> list[dict[str, Any]]:
    return bans.list_bans(session, BanKind.STORAGE)


@router.post("/dn")
def ban_dn(body: BanDN, admin: AdminUser, session: WriteSession) -> dict[str, Any]:
    return bans.ban_dn(session, admin, body.user, body.message)


@router.delete("/dn")
def unban_dn(
    admin: AdminUser, session: WriteSession, user: str = Query(description="user email or id")
) -> dict[str, Any]:
    return bans.unban_dn(session, user)


@router.get("/dn")
def list_dn(admin: AdminUser, session: ReadSession) -> list[dict[str, Any]]:
    return bans.list_bans(session, BanKind.USER)
