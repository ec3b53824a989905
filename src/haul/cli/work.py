"""`haul worker`: a pull-based worker that can run anywhere the server is reachable."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from haul.worker.claim_ahead import DEFAULT_MAX_QUEUED, QUEUE_SECONDS
from haul.worker.fused_copy import MAX_BYTES as FUSE_MAX_BYTES
from haul.worker.shutdown_limits import DEFAULT_GRACE_SECONDS


def worker(
    server: Annotated[str, typer.Option("--server", help="haul server URL", envvar="HAUL_SERVER")],
    token: Annotated[str, typer.Option("--token", help="worker token", envvar="HAUL_TOKEN")],
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=1024)] = 4,
    types: Annotated[
        list[str] | None, typer.Option("--types", help="job types to serve (repeatable)")
    ] = None,
    protocols: Annotated[
        list[str] | None, typer.Option("--protocols", help="protocols to serve (repeatable)")
    ] = None,
    lease_seconds: Annotated[int | None, typer.Option("--lease-seconds", min=5)] = None,
    heartbeat_seconds: Annotated[float, typer.Option("--heartbeat-seconds", min=0.1)] = 5.0,
    prefetch: Annotated[
        int | None,
        typer.Option(
            "--prefetch",
            min=0,
            help="at most this many elements held queued beyond --concurrency (default "
            f"{DEFAULT_MAX_QUEUED}; the worker holds about {QUEUE_SECONDS:g} s of measured work)",
        ),
    ] = None,
    file_root: Annotated[
        list[str] | None,
        typer.Option("--file-root", help="only touch file:// paths under these directories"),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="exit when the queue is empty")] = False,
    handler: Annotated[
        list[str] | None,
        typer.Option("--handler", help="custom job type handler TYPE=module:function"),
    ] = None,
    allow_network: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-network",
            help="let sites registered by non-admins reach this loopback/private network "
            "(CIDR, repeatable; HAUL_ALLOW_NETWORK takes a comma-separated list)",
        ),
    ] = None,
    grace_seconds: Annotated[
        float,
        typer.Option(
            "--grace-seconds",
            min=0,
            help="on SIGTERM, how long held elements may finish before they are cancelled",
        ),
    ] = DEFAULT_GRACE_SECONDS,
    fuse_max_bytes: Annotated[
        int,
        typer.Option(
            "--fuse-max-bytes",
            help="copy a one-file COPY's file of at most this many bytes within its LIST's "
            "lease, saving a claim and a report (-1: never)",
        ),
    ] = FUSE_MAX_BYTES,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Claim work from a haul server and run it until SIGTERM."""
    from haul.storage.network_policy import ENV_VAR, parse_networks
    from haul.worker.config import WorkerConfig
    from haul.worker.loop import Worker

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    split = [t.strip().upper() for v in (types or []) for t in v.split(",") if t.strip()]
    protos = [p.strip().upper() for v in (protocols or []) for p in v.split(",") if p.strip()]
    networks = [*(allow_network or []), os.environ.get(ENV_VAR, "")]
    try:
        parse_networks(networks)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    cfg = WorkerConfig(
        server=server,
        token=token,
        concurrency=concurrency,
        protocols=protos or None,
        lease_seconds=lease_seconds,
        heartbeat_seconds=heartbeat_seconds,
        prefetch=prefetch,
        file_roots=[os.path.realpath(r) for r in (file_root or [])],
        once=once,
        handlers=handler or [],
        allow_networks=[n for n in networks if n],
        grace_seconds=grace_seconds,
        fuse_max_bytes=fuse_max_bytes,
    )
    if split:
        cfg.types = split
    from haul.worker.handlers import HandlerSpecError

    try:
        w = Worker(cfg)
    except HandlerSpecError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    w.install_signals()
    from haul.cli.heap import settle_heap

    settle_heap()
    raise typer.Exit(w.run())
