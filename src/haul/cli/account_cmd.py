"""`haul login`, `haul logout`, `haul whoami`.

The login stores the server URL and a token in the user's config directory
(``$HAUL_CONFIG_DIR``, mode 0600); every other user command and
`haul.client.Context` read it from there. The password never touches disk.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

import haul.client as haul
from haul.cli.output import (
    Failed,
    JsonOpt,
    ServerOpt,
    TokenOpt,
    command,
    connect,
    emit_json,
    out,
    short_time,
    usage,
)
from haul.client._login import StoredLogin, forget_login, load_login, save_login

DEFAULT_SERVER = "http://127.0.0.1:8000"
NO_PASSWORD_HINT = (
    "Accounts made without --password (`haul admin add-user`, and `haul run`'s "
    "admin@localhost) have no password: log in with `haul login --token TOKEN`, using "
    "the token printed when the account was made, or have an admin run "
    "`haul admin set-password EMAIL`"
)


@command
def login(
    server: ServerOpt = None,
    email: Annotated[str | None, typer.Option("--email", "-e", help="account email")] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", help="store this API token instead of logging in by password"),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin")
    ] = False,
    lifetime: Annotated[
        int | None, typer.Option("--lifetime", min=60, help="token lifetime in seconds")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Log in to a haul server and remember it (prompts for email and password)."""
    stored = load_login()
    url = server or (stored.server if stored else None) or DEFAULT_SERVER
    # An explicit empty token keeps $HAUL_TOKEN and old logins out of this Context.
    anonymous = haul.Context(url, token="")
    anonymous.get_endpoint_info()
    expires = None
    if token:
        with haul.Context(url, token=token) as ctx:
            try:
                me = haul.whoami(ctx)
            except haul.Unauthorized as exc:
                raise Failed(f"the server refused that token: {exc.detail}") from None
    else:
        if email is None:
            if password_stdin:
                usage("--password-stdin needs --email")
            email = typer.prompt("email")
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("password", hide_input=True)
        if not password:
            usage("empty password")
        try:
            answer = haul.login(anonymous, email, password, lifetime)
        except haul.Unauthorized as exc:  # the generic hint ("run haul login") would loop
            # The server does not say whether the account exists or has a password
            # (that would tell a stranger which emails have accounts), so the hint
            # covers the common case: an account made with no password at all.
            raise Failed(f"{exc.detail}. {NO_PASSWORD_HINT}") from None
        token, expires = answer["token"], answer.get("expires")
        with haul.Context(url, token=token) as ctx:
            me = haul.whoami(ctx)
    anonymous.close()
    path = save_login(StoredLogin(server=url, token=token, email=me.get("email"),
                                  user_id=me.get("user_id"), expires=expires))
    if json_out:
        emit_json({"server": url.rstrip("/"), "email": me.get("email"),
                   "user_id": me.get("user_id"), "roles": me.get("roles"),
                   "expires": expires, "config": str(path)})
        return
    until = f", token valid until {short_time(expires)}" if expires else ""
    out.print(f"logged in to {url.rstrip('/')} as {me.get('email')}{until}")


@command
def logout(json_out: JsonOpt = False) -> None:
    """Forget the stored server and token."""
    stored = load_login()
    removed = forget_login()
    if json_out:
        emit_json({"logged_out": removed, "server": stored.server if stored else None})
    elif removed:
        out.print(f"logged out of {stored.server if stored else 'haul'}")
    else:
        out.print("not logged in")


@command
def whoami(server: ServerOpt = None, token: TokenOpt = None, json_out: JsonOpt = False) -> None:
    """Show how the server sees you: account, roles, site credentials."""
    with connect(server, token) as ctx:
        me = haul.whoami(ctx)
        if json_out:
            emit_json(me | {"server": ctx.endpoint})
            return
        out.print(f"{me.get('email')} (user {me.get('user_id')}) on {ctx.endpoint}")
        out.print(f"roles: {', '.join(me.get('roles', []))}")
        creds = me.get("credentials", [])
        for c in creds:
            out.print(f"site {c.get('site_name')} (id {c.get('site_id')}): "
                      f"logged in until {short_time(c.get('expiry'))}")
        if not creds:
            out.print("no site credentials")

