"""A submission's writes: the job's first element in one INSERT.

Submitting is the hot path of many-job workloads (issue 13), so element 0
goes in as one Core INSERT rather than through the unit of work.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from haul.store.tables import Element

_FIRST_ELEMENT = insert(Element)


def add_first_element(session: Session, values: dict[str, Any]) -> None:
    """Element 0 of a job (`values`: its columns, `job_id` and `id` included)."""
    session.execute(_FIRST_ELEMENT, values)
