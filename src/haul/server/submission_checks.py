"""A submission's own checks, turned into the server's 400s.

Each check of a submission has one home:

- ``protocol/submission_body.py: JobSubmission``, the body every submission
  route reads: what every type shares (values the store can keep, enums, the
  priority and max_tries bounds, lengths of ids and labels, metadata size).
- ``protocol/submissions.py``: what a type needs, by its model (the built-ins'
  discriminated union, a custom type's model); ``GET /jobs/schema``
  publishes the same models.
- Here: the refusals of a file list or a request where the type takes none,
  before the type's model (whose first complaint would be a missing path).
- services/jobs.py and custom_jobs.py check what needs the database (sites,
  credentials, bans, uploads, protocols, the job type) and a path's rules.
"""

from __future__ import annotations

from typing import Any

from haul.domain.enums import JobType
from haul.protocol.submission_body import JobSubmission
from haul.protocol.submissions import first_problem
from haul.services import file_jobs
from haul.services.errors import BadRequest


def check_file_job(body: JobSubmission, job_type: JobType) -> None:
    """A built-in type's submission, by its model (the file-list form's when it lists files)."""
    if body.request is not None:
        raise BadRequest("request: only custom job types take a request")
    if body.files is not None:
        # The files themselves are checked item by item by the service.
        file_jobs.check_listing(job_type, body.files, body.src_filepath, body.dst_filepath)
    _refuse(first_problem(_as_named(body, job_type)))


def check_custom_job(body: JobSubmission, type_name: str) -> None:
    _refuse(first_problem(_as_named(body, type_name), custom=type_name))


def _as_named(body: JobSubmission, type_name: JobType | str) -> dict[str, Any]:
    """The submission as its type's model reads it: enums by name, defaults unset.

    ``files`` stays as the list itself (no copy): it only picks the union's
    form, its models ignore it.
    """
    d = body.model_dump(exclude_unset=True, exclude={"files"})
    d["type"] = type_name if isinstance(type_name, str) else type_name.name
    if body.protocol is not None:
        d["protocol"] = body.protocol.name
    if body.files is not None:
        d["files"] = body.files
    return d


def _refuse(problem: str | None) -> None:
    if problem is not None:
        raise BadRequest(problem)
