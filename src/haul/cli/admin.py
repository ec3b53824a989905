"""`haul admin ...` and `haul db ...`: direct store access for operators."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from haul.cli.common import CreateOpt, DbOpt, HomeOpt, open_admin_store, open_store
from haul.domain.enums import Role
from haul.services.errors import ServiceError

admin_app = typer.Typer(help="Administer accounts (direct database access).", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)

TOKEN_SECONDS = 365 * 24 * 3600


@admin_app.command("add-user")
def add_user(
    email: str,
    admin: Annotated[bool, typer.Option("--admin", help="give the admin role")] = False,
    password: Annotated[
        bool, typer.Option("--password", help="prompt for a password for web login")
    ] = False,
    home: HomeOpt = None,
    db: DbOpt = None,
    create: CreateOpt = False,
) -> None:
    """Create a user and print an API token as the last line."""
    from haul.services.users import create_user, issue_token

    secret = getpass.getpass("password: ") if password else None
    _, database = open_admin_store(home, db, create=create)
    try:
        with database.write() as session:
            role = Role.ADMIN if admin else Role.USER
            user = create_user(session, email, secret, role=role.value)
            token, _ = issue_token(session, user, "cli", TOKEN_SECONDS)
    except ServiceError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created {'admin' if admin else 'user'} {user.email} (id {user.id})")
    typer.echo(token)


@admin_app.command("add-worker")
def add_worker(
    name: str, home: HomeOpt = None, db: DbOpt = None, create: CreateOpt = False
) -> None:
    """Create a worker account and print its token as the last line."""
    from haul.services.users import create_user, issue_token

    _, database = open_admin_store(home, db, create=create)
    try:
        with database.write() as session:
            user = create_user(session, f"worker:{name}", None, role=Role.WORKER.value, name=name)
            token, _ = issue_token(session, user, "worker", TOKEN_SECONDS)
    except ServiceError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created worker {name} (id {user.id})")
    typer.echo(token)


@admin_app.command("add-metrics-token")
def add_metrics_token(
    name: Annotated[str, typer.Argument(help="who scrapes, e.g. prometheus")] = "prometheus",
    home: HomeOpt = None,
    db: DbOpt = None,
    create: CreateOpt = False,
) -> None:
    """Print a token that can read /metrics and nothing else (last line).

    The first call creates the account ``metrics:NAME``; later calls add
    another token to it. Each token is valid for a year.
    """
    from sqlalchemy import select

    from haul.services.users import create_user, issue_token
    from haul.store.tables import User

    _, database = open_admin_store(home, db, create=create)
    try:
        with database.write() as session:
            user = session.scalar(select(User).where(User.email == f"metrics:{name}"))
            if user is not None and user.role != Role.METRICS:
                raise typer.BadParameter(f"metrics:{name} exists and is not a metrics account")
            if user is None:
                user = create_user(
                    session, f"metrics:{name}", None, role=Role.METRICS.value, name=name
                )
            token, _ = issue_token(session, user, "metrics", TOKEN_SECONDS)
    except ServiceError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"metrics token for {name} (account id {user.id}); it can read /metrics only")
    typer.echo(token)


@admin_app.command("init")
def init(home: HomeOpt = None, db: DbOpt = None) -> None:
    """Create a haul home and database (the other admin commands never do on their own)."""
    from haul.store.migrate import current_revision

    _, database = open_admin_store(home, db, create=True)
    typer.echo(f"database at revision {current_revision(database)}")


@admin_app.command("set-password")
def set_password(
    email: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin's first line")
    ] = False,
    home: HomeOpt = None,
    db: DbOpt = None,
) -> None:
    """Set or reset an account's password for `haul login` and the dashboard.

    The account's tokens keep working (this is how an account made without
    ``--password``, such as `haul run`'s admin, gets one); to lock out a
    leaked token, revoke it or ban the account.
    """
    import sys

    from haul.services.users import set_password as store_password

    if password_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = getpass.getpass("new password: ")
        if getpass.getpass("again: ") != secret:
            typer.echo("error: the two passwords differ", err=True)
            raise typer.Exit(1)
    _, database = open_admin_store(home, db)
    try:
        user = store_password(database, email, secret)
    except ServiceError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"password set for {user.email} (id {user.id}); its tokens still work")


@db_app.command("upgrade")
def db_upgrade(home: HomeOpt = None, db: DbOpt = None) -> None:
    """Create or upgrade the schema to the newest revision."""
    from haul.store.migrate import current_revision

    _, database = open_store(home, db)
    typer.echo(f"database at revision {current_revision(database)}")


# Bans act on the running server, so they go through the HTTP API (haul.cli.bans_cmd).
from haul.cli import bans_cmd  # noqa: E402

admin_app.command("ban-se")(bans_cmd.ban_se)
admin_app.command("unban-se")(bans_cmd.unban_se)
admin_app.command("ban-dn")(bans_cmd.ban_dn)
admin_app.command("unban-dn")(bans_cmd.unban_dn)
admin_app.command("bans")(bans_cmd.bans)
