"""`haul admin ban-se|unban-se|ban-dn|unban-dn|bans`: bans over the HTTP API.

Unlike the other `haul admin` commands these do not open the database: a ban
must act on the running server (cancel work, refuse tokens), so it goes
through the API with an admin's token (`haul login` or ``--token``).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

import haul.client as haul
from haul.cli.output import JsonOpt, ServerOpt, TokenOpt, command, connect, emit_json, out
from haul.domain.enums import BanAction

MessageOpt = Annotated[str, typer.Option("--message", "-m", help="why, shown with the ban")]


def _affected(what: str, ids: list[int], json_out: bool, key: str, value: str) -> None:
    if json_out:
        emit_json({key: value, "affected_jobs": ids})
        return
    shown = ", ".join(str(i) for i in ids) if ids else "none"
    out.print(f"banned {what}; affected jobs: {shown}", markup=False)


@command
def ban_se(
    storage: Annotated[str, typer.Argument(help="site id or endpoint URL")],
    status: Annotated[
        BanAction,
        typer.Option("--status", help="cancel its work now, or hold it queued (wait)"),
    ] = BanAction.CANCEL,
    timeout: Annotated[
        int,
        typer.Option("--timeout", min=0,
                     help="wait: seconds before held work is cancelled (0: no limit)"),
    ] = 0,
    allow_submit: Annotated[
        bool, typer.Option("--allow-submit", help="keep accepting new jobs for it")
    ] = False,
    message: MessageOpt = "",
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Ban a storage endpoint (admins)."""
    with connect(server, token) as ctx:
        ids = haul.ban_se(ctx, storage, status.value, timeout, allow_submit, message)
    _affected(f"storage {storage}", ids, json_out, "storage", storage)


@command
def unban_se(
    storage: Annotated[str, typer.Argument(help="site id or endpoint URL")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Lift a storage ban (admins)."""
    with connect(server, token) as ctx:
        haul.unban_se(ctx, storage)
    if json_out:
        emit_json({"storage": storage, "banned": False})
    else:
        out.print(f"unbanned storage {storage}", markup=False)


@command
def ban_dn(
    user: Annotated[str, typer.Argument(help="user email or id")],
    message: MessageOpt = "",
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Ban a user: their work is cancelled and their tokens stop working (admins)."""
    with connect(server, token) as ctx:
        ids = haul.ban_dn(ctx, user, message)
    _affected(f"user {user}", ids, json_out, "user", user)


@command
def unban_dn(
    user: Annotated[str, typer.Argument(help="user email or id")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Lift a user ban (admins)."""
    with connect(server, token) as ctx:
        haul.unban_dn(ctx, user)
    if json_out:
        emit_json({"user": user, "banned": False})
    else:
        out.print(f"unbanned user {user}", markup=False)


@command
def bans(server: ServerOpt = None, token: TokenOpt = None, json_out: JsonOpt = False) -> None:
    """List storage and user bans (admins)."""
    with connect(server, token) as ctx:
        se, dn = haul.list_banned_se(ctx), haul.list_banned_dn(ctx)
    if json_out:
        emit_json({"storage": se, "users": dn})
        return
    for title, rows in (("storage bans", se), ("user bans", dn)):
        keys = sorted({k for r in rows for k in r})
        table = Table(*keys, title=title) if keys else Table(title=title)
        for r in rows:
            table.add_row(*(str(r.get(k, "")) for k in keys))
        out.print(table if rows else f"{title}: none")
