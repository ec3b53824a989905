"""Job types' SQL (``services/job_types.py``): the type rows, and what a claim asks
of them (which are paused, inactive or capped, and how many leases the capped
ones hold now)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haul.domain.enums import LEASED
from haul.store.tables import Element, JobTypeRow


def builtin_names(session: Session) -> set[str]:
    return set(session.scalars(select(JobTypeRow.name).where(JobTypeRow.builtin.is_(True))))


def all_types(session: Session) -> list[JobTypeRow]:
    """Every type row, by id."""
    return list(session.scalars(select(JobTypeRow).order_by(JobTypeRow.id)))


def versions_of(session: Session, name: str, version: str | None) -> list[JobTypeRow]:
    """Rows of the type named ``name`` in any case (of ``version`` only, if given),
    the newest first."""
    q = select(JobTypeRow).where(func.lower(JobTypeRow.name) == name.lower())
    if version is not None:
        q = q.where(JobTypeRow.version == version)
    return list(session.scalars(q.order_by(JobTypeRow.id.desc())))


def version_exists(session: Session, name: str, version: str) -> bool:
    found = session.scalar(
        select(JobTypeRow.id).where(JobTypeRow.name == name, JobTypeRow.version == version)
    )
    return bool(found)


def named(session: Session, name: str) -> list[JobTypeRow]:
    """Every version of the type named exactly ``name``."""
    return list(session.scalars(select(JobTypeRow).where(JobTypeRow.name == name)).all())


def limited(session: Session) -> list[JobTypeRow]:
    """Types a claim must mind: paused, inactive, or capped by ``max_scheduled``."""
    return list(
        session.scalars(
            select(JobTypeRow).where(
                (JobTypeRow.is_paused.is_(True))
                | (JobTypeRow.max_scheduled.is_not(None))
                | (JobTypeRow.is_active.is_(False))
            )
        )
    )


def lock_rows(session: Session, ids: Collection[int]) -> None:
    """Holds these type rows until the transaction ends, in id order (deadlock-free)."""
    session.execute(
        select(JobTypeRow.id)
        .where(JobTypeRow.id.in_(list(ids)))
        .order_by(JobTypeRow.id)
        .with_for_update()
    )


def leased_by_type(session: Session, types: Collection[int]) -> dict[int, int]:
    """Leased elements per element type, among ``types``."""
    rows = session.execute(
        select(Element.type, func.count())
        .where(Element.status.in_(LEASED), Element.type.in_(list(types)))
        .group_by(Element.type)
    ).all()
    return {type_id: n for type_id, n in rows}
