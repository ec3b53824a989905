"""A submission's writes: the job and its first element, one INSERT each.

Submitting is the hot path of many-job workloads (issue 13), so both rows go
straight to the driver (``store.bulk.insert_row``) rather than through the
unit of work.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from haul.store.bulk import insert_row
from haul.store.tables import Element, Job

_JOBS = Job.__table__
_ELEMENTS = Element.__table__


def add_job(session: Session, job: Job) -> int:
    """Inserts ``job`` (a transient row, its id not set); its id. The columns it
    was not given get the table's defaults."""
    given = inspect(job).dict
    values = {column: given[attribute] for attribute, column in _COLUMNS if attribute in given}
    return int(insert_row(session, _JOBS, values, returning="id"))


def add_first_element(session: Session, values: dict[str, Any]) -> None:
    """Element 0 of a job (`values`: its columns, `job_id` and `id` included)."""
    insert_row(session, _ELEMENTS, values)


# (attribute, column) of every column but the id (``meta`` is the column ``metadata``).
_COLUMNS = [(a.key, a.columns[0].name) for a in Job.__mapper__.column_attrs if a.key != "id"]
