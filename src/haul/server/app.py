"""The FastAPI application: pdm's three prefixes plus the root routes."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from sqlalchemy.exc import IntegrityError

from haul import __version__
from haul.config import Settings
from haul.security.secret_box import SecretBox
from haul.server import api_docs, errors, metrics, web
from haul.server.auth_gate import AuthGate, GateRules
from haul.server.body_limit import BodyLimit
from haul.server.login_throttle import LoginThrottle
from haul.server.periodic import HOUSEKEEPING_LOCK, REAPER_LOCK, Periodic
from haul.server.routers import (
    bans,
    control,
    generic_jobs,
    job_types,
    jobs,
    queue,
    root,
    sites,
    uploads,
    users,
    worker,
)
from haul.server.work_signal import WorkSignal
from haul.services import load_sampler
from haul.services.bans import expire_waits
from haul.services.job_types import ensure_builtins
from haul.services.reaper import lose_expired
from haul.services.reports import Policy
from haul.services.retention import prune
from haul.services.uploads import MAX_UPLOAD_BYTES, claim_upload_site, cleanup
from haul.store.database import THREADS, Database
from haul.store.migrate import upgrade
from haul.store.work_notices import WorkNotices

WORKQUEUE = "/workqueue/api/v1.0"
# A COPY listing 100,000 files with checksums is ~30 MB of JSON; the auth gate
# checks the token before any of it is read.
MAX_SUBMISSION_BYTES = 64 << 20
SITES = "/site/api/v1.0"
USERS = "/users/api/v1.0"

log = logging.getLogger("haul.server")

# Every API router with its prefix and tag. No route depends on their order: no
# two routes answer the same request (tests/unit/test_route_order.py).
API_ROUTERS: tuple[tuple[APIRouter, str, str], ...] = (
    (root.router, "", "root"),
    (generic_jobs.router, WORKQUEUE, "jobs"),
    (jobs.router, WORKQUEUE, "jobs"),
    (control.router, WORKQUEUE, "control"),
    (bans.router, WORKQUEUE, "bans"),
    (job_types.router, WORKQUEUE, "job types"),
    (uploads.router, WORKQUEUE, "uploads"),
    (worker.router, WORKQUEUE, "worker"),
    (sites.router, SITES, "sites"),
    (users.router, USERS, "users"),
    (queue.router, WORKQUEUE, "queue"),
)


def create_app(settings: Settings, db: Database | None = None, *, migrate: bool = True) -> FastAPI:
    db = db or Database.connect(settings.db_url)
    if migrate:
        upgrade(db)
    # Several servers starting together may race here; the loser finds the rows.
    with contextlib.suppress(IntegrityError), db.write() as session:
        ensure_builtins(session)
    with contextlib.suppress(IntegrityError), db.write() as session:
        claim_upload_site(session)
    policy = Policy(settings.lease_seconds, settings.backoff_base, settings.backoff_cap)
    tasks = [
        Periodic(
            db,
            settings.reaper_seconds,
            REAPER_LOCK,
            lambda s: (lose_expired(s, policy), expire_waits(s)),
            "lease-reaper",
        ),
        Periodic(
            db,
            settings.housekeeping_seconds,
            HOUSEKEEPING_LOCK,
            lambda s: (
                cleanup(s, settings.home, settings.upload_retention_seconds),
                prune(s, settings.retention_days),
            ),
            "housekeeping",
        ),
        Periodic(
            db,
            settings.sample_seconds,
            load_sampler.SAMPLER_LOCK,
            lambda s: load_sampler.tick(
                s, settings.load_keep_seconds, settings.load_bucket_seconds
            ),
            "load-sampler",
        ),
    ]

    signal = WorkSignal()
    notices = None if db.is_sqlite else WorkNotices(db.url, signal.notify)
    signal.peers = notices

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The database pool is sized to these threads (see store.database).
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        for t in tasks:
            t.start()
        if notices is not None:
            notices.start()
        yield
        if notices is not None:
            await anyio.to_thread.run_sync(notices.stop)  # joins its threads: not on the loop
        for t in tasks:
            t.stop()

    app = FastAPI(
        title="haul",
        version=__version__,
        description="A data-movement work queue",
        lifespan=lifespan,
        docs_url=None,  # api_docs serves /docs and /redoc with local assets
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.box = SecretBox.for_home(settings.home)
    app.state.work_signal = signal
    app.state.login_throttle = LoginThrottle()
    errors.install(app)
    for router, prefix, tag in API_ROUTERS:
        app.include_router(router, prefix=prefix, tags=[tag])
    metrics.install(app, db)
    api_docs.install(app)
    web.install(app)
    return app


# Requests that carry a body without a token: login and (open) registration.
ANONYMOUS_BODIES = frozenset({("POST", f"{USERS}/login"), ("POST", f"{USERS}/users")})


def asgi(settings: Settings, db: Database | None = None) -> BodyLimit:
    """The app behind the auth gate and the body limit, as served by uvicorn.

    The body limit refuses an oversize Content-Length at once; the gate then
    refuses a missing or bad token before any of the body is read.
    """
    db = db or Database.connect(settings.db_url)
    # Worker results carry listings (a 100,000-file directory is ~10 MB of JSON).
    overrides = {
        f"{WORKQUEUE}/worker/": settings.max_worker_body_bytes,
        f"{WORKQUEUE}/files": MAX_UPLOAD_BYTES + (64 << 10),  # room for multipart framing
        # Submissions that list their files (up to domain.limits.MAX_FILES_PER_JOB).
        **{f"{WORKQUEUE}/{route}$": MAX_SUBMISSION_BYTES for route in ("jobs", "copy", "remove")},
    }
    rules = GateRules(
        guarded=(WORKQUEUE, SITES, USERS),
        anonymous=ANONYMOUS_BODIES,
        worker_prefix=f"{WORKQUEUE}/worker/",
    )
    gate = AuthGate(create_app(settings, db), db, rules)
    return BodyLimit(gate, settings.max_body_bytes, overrides)
