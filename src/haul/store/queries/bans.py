"""Bans' SQL (``services/bans.py``): the ban rows, and the jobs a ban reaches.

What a ban does to the elements it reaches (cancel now, signal, hold) is
``steering``'s statements and ``domain.transitions``' statuses; these find
the rows: bans by kind and target, jobs by site or owner, and which of them
still have elements in given statuses.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from haul.domain.enums import BanAction, BanKind
from haul.store.tables import Ban, Element, Job


def storage_bans(session: Session) -> list[Ban]:
    return list(session.scalars(select(Ban).where(Ban.kind == BanKind.STORAGE)))


_SUBMIT_BLOCKING = select(Ban.target).where(
    Ban.kind == BanKind.STORAGE, Ban.allow_submit.is_(False)
)


def submit_blocking_targets(session: Session) -> list[str]:
    """The targets of storage bans that refuse new jobs: one narrow statement, built once,
    read by every submission (usually no rows)."""
    # On the connection: a statement through the ORM's execution path costs
    # several times this one (read by every one-file submission).
    return list(session.connection().execute(_SUBMIT_BLOCKING).scalars())


def waiting_bans(session: Session) -> list[Ban]:
    """Storage bans that hold their jobs' elements (``wait``), until lifted or timed out."""
    return list(
        session.scalars(
            select(Ban).where(Ban.kind == BanKind.STORAGE, Ban.status == BanAction.WAIT)
        )
    )


def bans_of_kind(session: Session, kind: BanKind) -> list[Ban]:
    """By id, oldest first."""
    return list(session.scalars(select(Ban).where(Ban.kind == kind).order_by(Ban.id)))


def ban(session: Session, kind: BanKind, target: str) -> Ban | None:
    return session.scalar(select(Ban).where(Ban.kind == kind, Ban.target == target))


def jobs_on_sites(session: Session, sites: Collection[int]) -> list[int]:
    """Ids of the jobs reading from or writing to any of these sites."""
    sites = list(sites)
    return list(
        session.scalars(
            select(Job.id).where(or_(Job.src_siteid.in_(sites), Job.dst_siteid.in_(sites)))
        )
    )


def jobs_of_user(session: Session, user_id: int) -> list[int]:
    return list(session.scalars(select(Job.id).where(Job.user_id == user_id)))


def jobs_with_elements_in(
    session: Session, job_ids: Collection[int], statuses: Collection[int]
) -> set[int]:
    """Which of these jobs have an element in one of ``statuses``."""
    statuses = sorted(statuses)
    status = Element.status == statuses[0] if len(statuses) == 1 else Element.status.in_(statuses)
    return set(
        session.scalars(
            select(Element.job_id).where(Element.job_id.in_(list(job_ids)), status).distinct()
        )
    )


def jobs(session: Session, job_ids: Collection[int]) -> list[Job]:
    return list(session.scalars(select(Job).where(Job.id.in_(list(job_ids)))))
