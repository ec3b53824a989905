"""`haul sites` and `haul site add|rm|login|logout`.

`site login` sends the user's credential for a site to the server, which
keeps it encrypted and hands it only to a worker holding a lease that needs
it. Secrets are prompted for without echo, or read from stdin for scripts;
they are never taken as command-line arguments, where `ps` would show them.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.table import Table

import haul.client as haul
from haul.cli.output import (
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
from haul.cli.targets import Sites
from haul.domain.enums import CREDENTIAL_FIELDS

site_app = typer.Typer(help="Register storage sites and log in to them.", no_args_is_help=True)

DEFAULT_LIFETIME = 12 * 3600


@command
def sites(server: ServerOpt = None, token: TokenOpt = None, json_out: JsonOpt = False) -> None:
    """List the sites you can use, and whether you are logged in to them."""
    with connect(server, token) as ctx:
        rows = haul.list_sites(ctx)
        creds = {c["site_id"]: c for c in haul.whoami(ctx).get("credentials", [])}
    if json_out:
        emit_json([s | {"credential_expiry": (creds.get(s["site_id"]) or {}).get("expiry")}
                   for s in rows])
        return
    table = Table("ID", "NAME", "SCHEMES", "PUBLIC", "OWNER", "CREDENTIAL", "DESCRIPTION")
    for s in rows:
        cred = creds.get(s["site_id"])
        if cred:
            state = f"until {short_time(cred.get('expiry'))}"
        else:
            state = "needed" if s.get("requires_credential") else "-"
        # Endpoint schemes (sftp, davs, upload) read as users wrote them; pdm's
        # protocol names (SSH, HTTPS) stay in --json as "protocols".
        schemes = s.get("schemes") or [p.lower() for p in s.get("protocols", [])]
        owner = "you" if s.get("is_owner") else (s.get("owner") or "-")
        table.add_row(str(s["site_id"]), s.get("site_name", ""), ",".join(schemes),
                      "yes" if s.get("public") else "no", owner, state, s.get("site_desc", ""))
    out.print(table)


@site_app.command("add")
@command
def site_add(
    name: Annotated[str, typer.Argument(help="a name for the site")],
    urls: Annotated[list[str], typer.Argument(help="endpoint URLs (file://, sftp://, ...)")],
    public: Annotated[bool, typer.Option("--public", help="let every user use it")] = False,
    desc: Annotated[str, typer.Option("--desc", help="a description")] = "",
    def_path: Annotated[str, typer.Option("--def-path", help="what '~' means on it")] = "/",
    requires_credential: Annotated[
        bool | None,
        typer.Option("--requires-credential/--no-credential",
                     help="whether users must log in to it (default: by protocol)"),
    ] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Register a storage site with one or more endpoint URLs."""
    with connect(server, token) as ctx:
        site_id = haul.add_site(ctx, name, urls, description=desc, public=public,
                                def_path=def_path, requires_credential=requires_credential)
    if json_out:
        emit_json({"site_id": site_id, "site_name": name, "endpoints": urls})
    else:
        out.print(f"site {name} added (id {site_id})")


@site_app.command("rm")
@command
def site_rm(
    name: Annotated[str, typer.Argument(help="site name or id")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Remove a site you own."""
    with connect(server, token) as ctx:
        site_id = Sites(ctx).id_of(name)
        answer = haul.remove_site(ctx, site_id)
    if json_out:
        emit_json(answer)
    else:
        out.print(f"site {name} removed")


def _secret(label: str, from_stdin: bool, *, may_be_empty: bool = False) -> str:
    read = sys.stdin.readline().rstrip("\r\n") if from_stdin else getpass.getpass(f"{label}: ")
    if not read and not may_be_empty:
        usage(f"empty {label}")
    return read


def _credential(schemes: set[str], username: str | None, key_file: Path | None,
                secret_stdin: bool) -> dict[str, Any]:
    """The fields a site's protocols want (domain/enums.py: CREDENTIAL_FIELDS),
    asking only for what is missing."""
    wanted = {fields for s in schemes for fields in CREDENTIAL_FIELDS.get(s, [])}
    if ("access_key", "secret_key") in wanted:
        access = username or typer.prompt("access key")
        return {"access_key": access, "secret_key": _secret("secret key", secret_stdin)}
    if key_file is not None and ("username", "private_key") in wanted:
        user = username or typer.prompt("username", default=getpass.getuser())
        cred: dict[str, Any] = {"username": user, "private_key": key_file.read_text()}
        phrase = _secret("key passphrase (empty for none)", secret_stdin, may_be_empty=True)
        if phrase:
            cred["passphrase"] = phrase
        return cred
    if ("username", "password") in wanted and (username or ("token",) not in wanted):
        user = username or typer.prompt("username", default=getpass.getuser())
        return {"username": user, "password": _secret("password", secret_stdin)}
    if ("token",) in wanted:
        return {"token": _secret("token", secret_stdin)}
    usage(f"this site speaks {', '.join(sorted(schemes))}, which takes no credential")


@site_app.command("login")
@command
def site_login(
    name: Annotated[str, typer.Argument(help="site name or id")],
    username: Annotated[
        str | None, typer.Option("--username", "-u", help="user name (S3: access key)")
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", exists=True, dir_okay=False, help="SSH private key (SFTP)"),
    ] = None,
    secret_stdin: Annotated[
        bool, typer.Option("--secret-stdin", help="read the password/token/secret from stdin")
    ] = False,
    lifetime: Annotated[
        int, typer.Option("--lifetime", min=60, help="seconds the credential stays valid")
    ] = DEFAULT_LIFETIME,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Give the server your credential for a site (prompts for the secret without echo)."""
    with connect(server, token) as ctx:
        site_id = Sites(ctx).id_of(name)
        site = haul.get_site(ctx, site_id)
        schemes = {urlsplit(u).scheme.lower() for u in site.get("endpoints", [])}
        cred = _credential(schemes, username, key_file, secret_stdin)
        answer = haul.delegate(ctx, site_id, cred, lifetime, force=True)
    if json_out:
        emit_json(answer)
    else:
        out.print(f"logged in to site {site.get('site_name')} "
                  f"until {short_time(answer.get('expiry'))}")


@site_app.command("logout")
@command
def site_logout(
    name: Annotated[str, typer.Argument(help="site name or id")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Make the server forget your credential for a site."""
    with connect(server, token) as ctx:
        answer = haul.undelegate(ctx, Sites(ctx).id_of(name))
    if json_out:
        emit_json(answer)
    else:
        out.print(f"logged out of site {name}")
