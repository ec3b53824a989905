"""Why elements failed: each element's last error, and a job's failures by error code.

A failed job used to be hundreds of red rows with the reason one log link
away each. The reason is the latest attempt's ``error`` ({code, scope,
message, retryable}); these reads put it next to the element, and sum a
job's failed elements by code with an example path, so one line says
"412 NOT_FOUND (e.g. /data/run1/x.dat), 3 PERMISSION_DENIED".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import JobStatus
from haul.services.job_reads import get_job
from haul.store.queries import attempt_errors as queries
from haul.store.tables import Element, User

CHUNK = 5000  # element ids per IN list


def last_errors(session: Session, elements: list[Element]) -> dict[tuple[int, int], Any]:
    """The error of each element's latest attempt, for a page of elements, in one query.

    Elements that are DONE or were never tried are not asked about.
    """
    asked: dict[int, list[int]] = defaultdict(list)
    for e in elements:
        if e.status != JobStatus.DONE and (e.attempts or e.status == JobStatus.FAILED):
            asked[e.job_id].append(e.id)
    out: dict[tuple[int, int], Any] = {}
    for job_id, ids in asked.items():
        for start in range(0, len(ids), CHUNK):
            for element_id, error in queries.latest_errors(
                session, job_id, ids[start : start + CHUNK]
            ):
                if isinstance(error, dict) and error:
                    out[(job_id, element_id)] = error
    return out


@dataclass(frozen=True)
class ErrorGroup:
    code: str
    count: int
    example_path: str | None
    example_element: int
    message: str | None
    scope: str | None = None  # SOURCE, DESTINATION or TRANSFER: which path the code is about
    example_dst_path: str | None = None


def error_summary(session: Session, user: User, job_id: int) -> list[ErrorGroup]:
    """The job's FAILED elements by their last error's code, most frequent first."""
    get_job(session, user, job_id)
    rows = queries.failed_by_code(session, job_id)
    failed = queries.failed_count(session, job_id)
    groups: list[ErrorGroup] = []
    counted = 0
    for code_value, n, example in rows:
        counted += n
        element = queries.element(session, job_id, example)
        attempt = queries.last_error(session, job_id, example)
        error = attempt if isinstance(attempt, dict) else {}
        groups.append(ErrorGroup(
            code=code_value or "UNKNOWN",
            count=n,
            example_path=element.src_filepath if element is not None else None,
            example_element=example,
            message=error.get("message"),
            scope=error.get("scope"),
            example_dst_path=element.dst_filepath if element is not None else None,
        ))
    if failed > counted:  # failed without an attempt (e.g. a ban, an expansion refusal)
        groups.append(ErrorGroup("NO_ATTEMPT", failed - counted, None, -1, None))
    groups.sort(key=lambda g: (-g.count, g.code))
    return groups


def error_summary_json(groups: list[ErrorGroup]) -> list[dict[str, Any]]:
    return [
        {"code": g.code, "count": g.count, "example_path": g.example_path,
         "example_dst_path": g.example_dst_path,
         "example_element": g.example_element if g.example_element >= 0 else None,
         "scope": g.scope, "message": g.message}
        for g in groups
    ]
