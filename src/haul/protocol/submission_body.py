"""The body every submission route reads, and the same body as the client builds it.

``JobSubmission`` is read by ``POST /workqueue/api/v1.0/jobs`` and the typed
routes (``/copy``, ``/remove``, ``/list``, ``/mkdir``, ``/rename``) alike. It
checks what every type shares: values the store can keep, enums, the
priority and max_tries bounds, lengths of ids and labels, the size of
metadata. What a type needs is its own model's (``protocol/submissions.py``).
Enums are read as integers, numeric strings or names.

Fields the server owns (id, user_id, log_uid, attempts, status) are not in
the model, so a client that sends them back is simply ignored.

What the client builds is ``protocol/submission_form.py``'s ``SubmissionBody``,
a ``TypedDict`` with the same keys (``tests/unit/test_protocol_submissions.py``
keeps them equal), in a module without pydantic: the client does not load it.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, field_validator

from haul.domain.enums import JobProtocol, JobType, parse_enum
from haul.domain.limits import MAX_TRIES, PRIORITY
from haul.protocol.bodies import BodyId, StorableBody

MAX_METADATA_BYTES = 4096
MAX_SUBMISSION_ID = 200
MAX_VERSION = 50
MAX_LABEL = 200  # a custom job's name
CUSTOM_TYPE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")


def _enum_reader(enum: type, field: str) -> BeforeValidator:
    return BeforeValidator(lambda v: None if v is None else parse_enum(enum, v, field))


def _read_type(value: Any) -> Any:
    """A built-in type (integer, numeric string or name) or a custom type's name."""
    if value is None:
        return None
    try:
        return parse_enum(JobType, value, "type")
    except ValueError:
        if isinstance(value, str) and CUSTOM_TYPE_RE.match(value.strip()):
            return value.strip()
        raise


class JobSubmission(StorableBody):
    model_config = ConfigDict(extra="ignore")

    type: Annotated[JobType | str | None, BeforeValidator(_read_type)] = None
    src_siteid: BodyId | Literal["upload"] | None = None
    dst_siteid: BodyId | None = None
    src_filepath: str | None = None
    dst_filepath: str | None = None
    # COPY and REMOVE: the files themselves (FTS3-style), checked item by item
    # in domain/file_lists.py; kept as plain JSON so 100,000 items cost no models.
    files: list[Any] | None = Field(
        default=None,
        description="COPY/REMOVE: [{src_filepath, dst_filepath, checksum, filesize, metadata}]",
    )
    extra_opts: dict[str, Any] | None = None
    priority: int | None = Field(
        default=None,
        description=f"{PRIORITY.low} (most urgent) .. {PRIORITY.high}, default {PRIORITY.default}",
    )
    protocol: Annotated[JobProtocol | None, _enum_reader(JobProtocol, "protocol")] = None
    max_tries: int | None = Field(
        default=None, description=f"default {MAX_TRIES.default} (custom: the type's)"
    )
    metadata: dict[str, Any] | None = None
    submission_id: str | None = Field(default=None, max_length=MAX_SUBMISSION_ID)
    # Custom job types (seed 004 / Scale): which version, a label, and the request.
    version: str | None = Field(default=None, max_length=MAX_VERSION)
    name: str | None = Field(default=None, max_length=MAX_LABEL)
    request: Any = None
    user: str | int | None = Field(
        default=None, description="custom jobs: whose job this is (admins may name others)"
    )

    @field_validator("priority")
    @classmethod
    def _priority(cls, v: int | None) -> int | None:
        if v is not None and (isinstance(v, bool) or not PRIORITY.holds(v)):
            raise ValueError(
                f"priority: must be between {PRIORITY.low} (most urgent) and {PRIORITY.high}"
            )
        return v

    @field_validator("max_tries")
    @classmethod
    def _max_tries(cls, v: int | None) -> int | None:
        if v is not None and not MAX_TRIES.holds(v):
            raise ValueError(f"max_tries: must be between {MAX_TRIES.low} and {MAX_TRIES.high}")
        return v

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None and len(json.dumps(v)) > MAX_METADATA_BYTES:
            raise ValueError(f"metadata: at most {MAX_METADATA_BYTES} bytes of JSON")
        return v
