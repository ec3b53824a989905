"""A job submission as the client sends it: its keys and the routes that take it.

Kept free of pydantic so that ``haul.client`` (which sends these bodies and
never validates them: the server's answer is the judge) loads no model
machinery. The server reads the same keys with
``protocol/submission_body.py: JobSubmission``; a unit test keeps the two
equal.
"""

from __future__ import annotations

from typing import Any, TypedDict, cast

from haul.domain.enums import JobType

# Under /workqueue/api/v1.0: the route for every type (the body names it)...
SUBMIT_ROUTE = "/jobs"


def typed_route(job_type: JobType) -> str:
    """...and seed 000's route per built-in type, whose type wins over the body's."""
    return f"/{job_type.name.lower()}"


class SubmissionBody(TypedDict, total=False):
    """A submission as sent: enums by name or number; what is left out takes the default.

    Built-in types use the file fields (``src_siteid`` .. ``extra_opts``, or
    ``files``), custom types ``version``, ``name``, ``request`` and ``user``.
    """

    type: str | int
    src_siteid: int | str
    dst_siteid: int | str | None
    src_filepath: str | None
    dst_filepath: str | None
    files: list[Any] | None
    extra_opts: dict[str, Any] | None
    priority: int | None
    protocol: str | int | None
    max_tries: int | None
    metadata: dict[str, Any] | None
    submission_id: str | None
    version: str | None
    name: str | None
    request: Any
    user: str | int | None


def with_defaults_left_out(body: SubmissionBody, optional: SubmissionBody) -> SubmissionBody:
    """``body`` plus the ``optional`` fields that are set: a field left as None is
    not sent, so the server's (or the job type's) default applies."""
    body.update(cast(SubmissionBody, {k: v for k, v in optional.items() if v is not None}))
    return body
