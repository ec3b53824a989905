"""`haul server` and `haul run`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Annotated

import typer

from haul.cli.common import DbOpt, HomeOpt

HostOpt = Annotated[str, typer.Option("--host", help="address to listen on")]
PortOpt = Annotated[int, typer.Option("--port", help="port to listen on")]
RootOpt = Annotated[
    list[str] | None,
    typer.Option("--file-root", help="directory users may register file:// sites under"),
]


def _settings(
    home: str | None, db: str | None, open_registration: bool, file_root: list[str] | None
):
    from haul.config import Settings

    return Settings.resolve(
        home,
        db,
        open_registration=open_registration,
        file_roots=[os.path.realpath(r) for r in (file_root or [])],
    )


def server(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    home: HomeOpt = None,
    db: DbOpt = None,
    open_registration: Annotated[
        bool, typer.Option("--open-registration", help="let anyone create an account")
    ] = False,
    file_root: RootOpt = None,
    log_level: Annotated[str, typer.Option("--log-level")] = "warning",
) -> None:
    """Run the haul server (migrates the database first)."""
    import uvicorn

    from haul.server.app import asgi

    settings = _settings(home, db, open_registration, file_root)
    app = asgi(settings)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def run(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    home: HomeOpt = None,
    db: DbOpt = None,
    file_root: RootOpt = None,
) -> None:
    """Start a server on this machine, print the admin token and URLs, and serve."""
    from haul.cli.common import open_store
    from haul.services.bootstrap import admin_token

    settings, database = open_store(home, db)
    with database.write() as session:
        token = admin_token(session)
    database.dispose()
    base = f"http://{host}:{port}"
    typer.echo(f"haul home:      {settings.home}")
    typer.echo(f"API:            {base}/  (docs at {base}/docs)")
    typer.echo(f"dashboard:      {base}/web")
    typer.echo(f"admin token:    {token}")
    typer.echo("stop with Ctrl-C")
    args = [
        sys.executable,
        "-m",
        "haul",
        "server",
        "--host",
        host,
        "--port",
        str(port),
        "--home",
        str(settings.home),
        "--db",
        settings.db_url,
    ]
    for root in file_root or []:
        args += ["--file-root", root]
    proc = subprocess.Popen(args)
    try:
        sys.exit(proc.wait())
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        proc.wait()
