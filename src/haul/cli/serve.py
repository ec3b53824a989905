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


def server(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    home: HomeOpt = None,
    db: DbOpt = None,
    open_registration: Annotated[
        bool, typer.Option("--open-registration", help="let anyone create an account")
    ] = False,
    file_root: RootOpt = None,
    lease_seconds: Annotated[
        int, typer.Option("--lease-seconds", help="default lease a worker gets per claim")
    ] = 120,
    reaper_seconds: Annotated[
        float, typer.Option("--reaper-seconds", help="how often expired leases are reaped")
    ] = 5.0,
    backoff_base: Annotated[
        float, typer.Option("--backoff-base", help="first retry delay ceiling, seconds")
    ] = 2.0,
    backoff_cap: Annotated[
        float, typer.Option("--backoff-cap", help="largest retry delay, seconds")
    ] = 600.0,
    log_level: Annotated[str, typer.Option("--log-level")] = "warning",
) -> None:
    """Run the haul server (migrates the database first)."""
    import uvicorn

    from haul.config import Settings
    from haul.server.app import asgi

    settings = Settings.resolve(
        home,
        db,
        open_registration=open_registration,
        file_roots=[os.path.realpath(r) for r in (file_root or [])],
        lease_seconds=lease_seconds,
        reaper_seconds=reaper_seconds,
        backoff_base=backoff_base,
        backoff_cap=backoff_cap,
    )
    uvicorn.run(asgi(settings), host=host, port=port, log_level=log_level, access_log=False)


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
