"""Bans with FTS3 semantics: storage endpoints (``se``) and users (``dn``).

A storage ban names a site id or an endpoint URL; a URL bans every site with
an endpoint on the same ``scheme://host:port``. ``cancel`` cancels the queued
and running elements of jobs touching it; ``wait`` keeps them queued but not
claimable until the ban is lifted or its timeout passes, when they are
cancelled. ``allow_submit`` decides whether new jobs may name the storage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from haul.domain.enums import BanAction, BanKind, JobStatus
from haul.domain.transitions import CANCEL_PENDING
from haul.services.errors import BadRequest, Forbidden, NotFound
from haul.services.stages import after_element_change
from haul.services.users import find_user
from haul.store.clock import as_utc, utcnow
from haul.store.queries import bans as queries
from haul.store.queries.sites import all_endpoints
from haul.store.queries.steering import cancel_queued, signal_running
from haul.store.tables import Ban, Site, User

NEW = int(JobStatus.NEW)
_PENDING = sorted(int(s) for s in CANCEL_PENDING)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def normalise_storage(storage: str | int) -> str:
    text = str(storage).strip()
    if not text:
        raise BadRequest("storage: name a site id or an endpoint URL")
    if text.isdigit():
        return text
    if "://" not in text:
        raise BadRequest("storage: expected a site id or an endpoint URL such as sftp://host")
    return _origin(text)


def sites_for(session: Session, target: str) -> set[int]:
    if target.isdigit():
        return {int(target)} if session.get(Site, int(target)) is not None else set()
    return {ep.site_id for ep in all_endpoints(session) if _origin(ep.url) == target}


def banned_sites(session: Session, *, for_submit: bool = False) -> set[int]:
    """Sites no element may be claimed on (or, for_submit, no job submitted to)."""
    out: set[int] = set()
    for ban in queries.storage_bans(session):
        if for_submit and ban.allow_submit:
            continue
        out |= sites_for(session, ban.target)
    return out


def check_submit(session: Session, sites: Mapping[int, Iterable[str]]) -> None:
    """No ban that refuses new jobs names one of ``sites`` (site id -> its endpoint URLs).

    The same rule as ``banned_sites(for_submit=True)``, a site banned by its
    id or by the origin of one of its endpoints, decided from the sites the
    submission loaded anyway: one narrow read of the refusing bans (usually
    none) instead of every ``se`` ban and, for a URL ban, every endpoint.
    """
    targets = set(queries.submit_blocking_targets(session))
    if not targets:
        return
    for sid, urls in sites.items():
        if str(sid) in targets or any(_origin(url) in targets for url in urls):
            raise Forbidden(f"site {sid} is banned by an administrator; new jobs are refused")


def _touching(session: Session, sites: set[int]) -> list[int]:
    if not sites:
        return []
    return queries.jobs_on_sites(session, sites)


def _cancel_elements(session: Session, job_ids: list[int]) -> list[int]:
    """Cancels queued and signals running elements; returns the jobs affected."""
    if not job_ids:
        return []
    affected = queries.jobs_with_elements_in(session, job_ids, _PENDING)
    cancel_queued(session, job_ids)
    signal_running(session, job_ids)
    for job in queries.jobs(session, affected):
        after_element_change(session, job)
    return sorted(affected)


def ban_se(
    session: Session,
    admin: User,
    storage: str | int,
    status: str,
    timeout: int | None,
    allow_submit: bool,
    message: str = "",
) -> dict[str, Any]:
    if status not in tuple(BanAction):
        raise BadRequest("status: expected 'cancel' or 'wait'")
    if timeout is not None and timeout < 0:
        raise BadRequest("timeout: must be zero or more seconds")
    if timeout == 0:
        timeout = None  # FTS3: 0 leaves queued jobs waiting until the ban is lifted
    target = normalise_storage(storage)
    sites = sites_for(session, target)
    if target.isdigit() and not sites:
        raise NotFound(f"storage: no site {target}")
    ban = queries.ban(session, BanKind.STORAGE, target)
    if ban is None:
        ban = Ban(kind=BanKind.STORAGE.value, target=target)
        session.add(ban)
    ban.status, ban.timeout, ban.allow_submit = status, timeout, allow_submit
    ban.message, ban.created_by, ban.created = message, admin.id, utcnow()
    session.flush()
    jobs = _touching(session, sites)
    if status == BanAction.CANCEL:
        affected = _cancel_elements(session, jobs)
    else:
        affected = sorted(queries.jobs_with_elements_in(session, jobs, [NEW])) if jobs else []
    return {"storage": target, "status": status, "sites": sorted(sites), "affected": affected}


def unban_se(session: Session, storage: str) -> dict[str, Any]:
    target = normalise_storage(storage)
    ban = queries.ban(session, BanKind.STORAGE, target)
    if ban is None:
        raise NotFound(f"storage {target} is not banned")
    session.delete(ban)
    return {"storage": target, "unbanned": True}


def ban_dn(session: Session, admin: User, user_ref: str | int, message: str = "") -> dict:
    user = find_user(session, user_ref)
    if user.id == admin.id:
        raise BadRequest("user: you cannot ban yourself")
    user.banned = True
    target = str(user.id)
    ban = queries.ban(session, BanKind.USER, target)
    if ban is None:
        session.add(
            Ban(kind=BanKind.USER.value, target=target, message=message, created_by=admin.id)
        )
    jobs = queries.jobs_of_user(session, user.id)
    affected = _cancel_elements(session, jobs)
    for job in queries.jobs(session, affected):
        job.cancelled = True
    return {"user": user.email, "user_id": user.id, "affected": affected}


def unban_dn(session: Session, user_ref: str | int) -> dict[str, Any]:
    user = find_user(session, user_ref)
    ban = queries.ban(session, BanKind.USER, str(user.id))
    if ban is None and not user.banned:
        raise NotFound(f"user {user.email} is not banned")
    if ban is not None:
        session.delete(ban)
    user.banned = False
    return {"user": user.email, "user_id": user.id, "unbanned": True}


def list_bans(session: Session, kind: BanKind) -> list[dict[str, Any]]:
    out = []
    for ban in queries.bans_of_kind(session, kind):
        entry: dict[str, Any] = {
            "message": ban.message,
            "created": as_utc(ban.created).isoformat() if ban.created else None,
            "created_by": ban.created_by,
        }
        if kind == BanKind.STORAGE:
            entry |= {
                "storage": ban.target,
                "status": ban.status,
                "timeout": ban.timeout,
                "allow_submit": ban.allow_submit,
                "sites": sorted(sites_for(session, ban.target)),
            }
        else:
            user = session.get(User, int(ban.target))
            entry |= {"user_id": int(ban.target), "user": user.email if user else None}
        out.append(entry)
    return out


def expire_waits(session: Session) -> int:
    """A ``wait`` ban whose timeout passed cancels what it held, and becomes ``cancel``."""
    now = utcnow()
    n = 0
    for ban in queries.waiting_bans(session):
        created = as_utc(ban.created)
        if ban.timeout is None or created is None or created + timedelta(seconds=ban.timeout) > now:
            continue
        _cancel_elements(session, _touching(session, sites_for(session, ban.target)))
        ban.status = BanAction.CANCEL.value
        n += 1
    return n
