"""The job type catalog (seed 001): every type elements may carry, as the queue names it.

Job types are identified as elements carry them: the five built-ins by their
``JobType`` values 0..4, custom types by ``CUSTOM_BASE`` + their row id (as
``job_types.element_type`` numbers them). Built-ins without a row yet are
described as ``job_types.ensure_builtins`` would describe them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import JobType
from haul.domain.limits import PRIORITY
from haul.services.job_types import element_type
from haul.store.queries import queue_load as queries


@dataclass
class JobTypeInfo:
    id: int
    name: str
    version: str = "1"
    title: str = ""
    description: str = ""
    category: str = ""
    priority: int = PRIORITY.default
    is_active: bool = True
    is_paused: bool = False
    builtin: bool = False

    def as_json(self) -> dict[str, Any]:
        """Seed 001's job type details, with the fields haul has no use for left neutral."""
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "title": self.title,
            "description": self.description,
            "category": self.category,
            "priority": self.priority,
            "is_active": self.is_active,
            "is_paused": self.is_paused,
            "is_published": True,
            "is_system": self.builtin,
            "icon_code": None,
            "unmet_resources": None,
        }


def job_types(session: Session) -> list[JobTypeInfo]:
    """The built-ins first (ids 0..4), then custom types, as their elements number them."""
    builtins = {
        t: JobTypeInfo(
            id=int(t),
            name=t.name,
            title=t.name.title(),
            description=f"built-in {t.name} file operation",
            category="file",
            builtin=True,
        )
        for t in JobType
    }
    custom: list[JobTypeInfo] = []
    for row in queries.job_type_rows(session):
        if row.builtin and row.name not in JobType.__members__:
            continue
        info = JobTypeInfo(
            id=element_type(row),
            name=row.name,
            version=row.version,
            title=row.title,
            description=row.description,
            category=row.category,
            priority=row.priority,
            is_active=row.is_active,
            is_paused=row.is_paused,
            builtin=row.builtin,
        )
        if row.builtin:
            builtins[JobType[row.name]] = info
        else:
            custom.append(info)
    return [builtins[t] for t in JobType] + custom


def select_types(
    catalog: list[JobTypeInfo],
    ids: list[int] | None = None,
    names: list[str] | None = None,
    categories: list[str] | None = None,
    priorities: list[int] | None = None,
) -> list[int]:
    """Ids of the types every given filter admits (any value within one filter)."""
    out = []
    lower_names = {n.lower() for n in names or []}
    lower_cats = {c.lower() for c in categories or []}
    for t in catalog:
        if ids and t.id not in ids:
            continue
        if lower_names and t.name.lower() not in lower_names:
            continue
        if lower_cats and t.category.lower() not in lower_cats:
            continue
        if priorities and t.priority not in priorities:
            continue
        out.append(t.id)
    return out
