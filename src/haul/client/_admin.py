"""Bans (seed 003's ban_se / ban_dn), for admins.

A banned storage endpoint is named by a site id or an endpoint URL; a banned
user by email or id. Ban calls answer the ids of the jobs the ban touched.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from haul.client._context import WORKQUEUE, Context

__all__ = ["ban_dn", "ban_se", "list_banned_dn", "list_banned_se", "unban_dn", "unban_se"]


def _job_ids(answer: Any) -> list[int]:
    """The affected job ids, whether the server answers a bare list or wraps it in an object."""
    if isinstance(answer, dict):
        for key in ("job_ids", "affected", "jobs"):
            if isinstance(answer.get(key), list):
                answer = answer[key]
                break
    if not isinstance(answer, list):
        return []
    return [int(j["id"] if isinstance(j, dict) else j) for j in answer]


def ban_se(
    ctx: Context,
    storage: str | int,
    status: Literal["cancel", "wait"] = "cancel",
    timeout: int | None = 0,
    allow_submit: bool = False,
    message: str = "",
) -> list[int]:
    """Bans a storage endpoint and answers the ids of the jobs it affected.

    ``cancel`` cancels queued and running elements that touch it; ``wait``
    holds them queued until the ban is lifted or ``timeout`` seconds pass,
    after which they are cancelled. As in seed 003, a ``timeout`` of 0 (or
    None) sets no limit. ``allow_submit`` keeps accepting new jobs for it.
    """
    body: dict[str, Any] = {"storage": str(storage), "status": status,
                            "timeout": timeout or None, "allow_submit": allow_submit}
    if message:
        body["message"] = message
    return _job_ids(ctx.post(f"{WORKQUEUE}/ban/se", body))


def unban_se(ctx: Context, storage: str | int) -> None:
    ctx.delete(f"{WORKQUEUE}/ban/se", storage=str(storage))


def list_banned_se(ctx: Context) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], ctx.get(f"{WORKQUEUE}/ban/se"))


def ban_dn(ctx: Context, user: str | int, message: str = "") -> list[int]:
    """Bans a user (email or id): cancels their work, and their tokens stop working."""
    body: dict[str, Any] = {"user": str(user)}
    if message:
        body["message"] = message
    return _job_ids(ctx.post(f"{WORKQUEUE}/ban/dn", body))


def unban_dn(ctx: Context, user: str | int) -> None:
    ctx.delete(f"{WORKQUEUE}/ban/dn", user=str(user))


def list_banned_dn(ctx: Context) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], ctx.get(f"{WORKQUEUE}/ban/dn"))
