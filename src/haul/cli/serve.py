"""`haul server` and `haul run`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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
    uvicorn.run(
        asgi(settings),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=grace_seconds,
    )


def run(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    home: HomeOpt = None,
    db: DbOpt = None,
    file_root: RootOpt = None,
    concurrency: Annotated[int, typer.Option("--concurrency", help="worker threads")] = 4,
) -> None:
    """Start a server and a local worker, print the admin token and URLs, and serve."""
    import httpx

    from haul.cli.common import open_store
    from haul.services.bootstrap import admin_token, local_worker_token

    settings, database = open_store(home, db)
    with database.write() as session:
        token = admin_token(session)
        worker_token = local_worker_token(session)
    database.dispose()
    base = f"http://{host}:{port}"
    server_args = [
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
        server_args += ["--file-root", root]
    procs = [subprocess.Popen(server_args)]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/hello", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            if procs[0].poll() is not None:
                raise typer.Exit(procs[0].returncode or 1) from None
            time.sleep(0.2)
    worker_env = {**os.environ, "HAUL_TOKEN": worker_token}
    procs.append(
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "haul",
                "worker",
                "--server",
                base,
                "--concurrency",
                str(concurrency),
            ],
            env=worker_env,
        )
    )
    typer.echo(f"haul home:      {settings.home}")
    typer.echo(f"API:            {base}/  (docs at {base}/docs)")
    typer.echo(f"dashboard:      {base}/web")
    typer.echo(f"admin token:    {token}")
    typer.echo("a worker is running beside the server; stop both with Ctrl-C", err=False)
    sys.stdout.flush()

    def stop(*_: object) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    stop()
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
