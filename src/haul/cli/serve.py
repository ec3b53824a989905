"""`haul server` and `haul run`."""

from __future__ import annotations

import os
import socket
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
    housekeeping_seconds: Annotated[
        float,
        typer.Option(
            "--housekeeping-seconds",
            help="how often old attempts, listings, tokens and uploads are pruned",
        ),
    ] = 300.0,
    reaper_seconds: Annotated[
        float, typer.Option("--reaper-seconds", help="how often expired leases are reaped")
    ] = 5.0,
    backoff_base: Annotated[
        float, typer.Option("--backoff-base", help="first retry delay ceiling, seconds")
    ] = 2.0,
    backoff_cap: Annotated[
        float, typer.Option("--backoff-cap", help="largest retry delay, seconds")
    ] = 600.0,
    upload_retention_seconds: Annotated[
        float,
        typer.Option("--upload-retention-seconds", help="keep unreferenced uploads this long"),
    ] = 7 * 24 * 3600.0,
    sample_seconds: Annotated[
        float,
        typer.Option("--sample-seconds", min=0.1, help="how often the queue load is sampled"),
    ] = 60.0,
    retention_days: Annotated[
        float,
        typer.Option(
            "--retention-days",
            min=0.00001,
            help="days to keep attempt logs and listings (expired tokens go at once)",
        ),
    ] = 90.0,
    grace_seconds: Annotated[
        int,
        typer.Option("--grace-seconds", min=1, help="on SIGTERM, wait this long for open requests"),
    ] = 10,
    log_level: Annotated[str, typer.Option("--log-level")] = "warning",
) -> None:
    """Run the haul server (migrates the database first)."""
    import uvicorn

    check_port(host, port)
    from haul.config import Settings
    from haul.server.app import asgi

    settings = Settings.resolve(
        home,
        db,
        open_registration=open_registration,
        file_roots=[os.path.realpath(r) for r in (file_root or [])],
        lease_seconds=lease_seconds,
        reaper_seconds=reaper_seconds,
        housekeeping_seconds=housekeeping_seconds,
        backoff_base=backoff_base,
        backoff_cap=backoff_cap,
        upload_retention_seconds=upload_retention_seconds,
        sample_seconds=sample_seconds,
        retention_days=retention_days,
    )
    from haul.cli.heap import settle_heap

    app = asgi(settings)
    settle_heap()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=grace_seconds,
    )


def port_in_use(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on, or None when it can (checked before anything)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def check_port(host: str, port: int) -> None:
    problem = port_in_use(host, port)
    if problem is not None:
        typer.echo(
            f"error: cannot listen on {host}:{port}: {problem}. Another server (perhaps "
            f"another `haul run`) is using port {port}: stop it, or pick another port with "
            f"--port (`make run PORT=9000`).",
            err=True,
        )
        raise typer.Exit(1)


def run(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    home: HomeOpt = None,
    db: DbOpt = None,
    file_root: RootOpt = None,
    concurrency: Annotated[int, typer.Option("--concurrency", help="worker threads")] = 4,
) -> None:
    """Start a server and a local worker, print the admin token and URLs, and serve."""
    from haul.cli.common import open_store
    from haul.cli.local_run import LocalRun
    from haul.services.bootstrap import admin_token, local_worker_token
    from haul.services.web_signin import SIGNIN_LINK_SECONDS, issue_signin_link

    check_port(host, port)
    settings, database = open_store(home, db)
    base = f"http://{host}:{port}"
    with database.write() as session:
        admin = admin_token(session)
        worker_token = local_worker_token(session)
        link = issue_signin_link(session, admin.user, base)
    database.dispose()
    local = LocalRun(settings, host, port, file_root or [], concurrency, worker_token)
    local.start()
    rotated = (
        f"(new; the {admin.revoked} token(s) earlier `haul run`s printed no longer work)"
        if admin.revoked
        else "(new)"
    )
    typer.echo(f"haul home:      {settings.home}")
    typer.echo(f"API:            {base}/  (docs at {base}/docs)")
    typer.echo(f"dashboard:      {base}/web")
    typer.echo(f"sign in:        {link}")
    typer.echo(f"                (opens the dashboard as {admin.user.email}; works once, "
               f"for {SIGNIN_LINK_SECONDS // 60} minutes)")
    typer.echo(f"admin token:    {admin.token} {rotated}")
    typer.echo("a worker is running beside the server; stop both with Ctrl-C")
    sys.stdout.flush()
    raise typer.Exit(local.serve())
