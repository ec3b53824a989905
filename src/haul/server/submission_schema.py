"""Per-type submission models: the server validates each job with its type's
model, and ``GET /jobs/schema`` publishes the same models as JSON Schema.

Keeping one set of models for both is what makes the schema exact: it lists
every field the server accepts for a type, with the constraints it enforces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from haul.domain.enums import JobType
from haul.domain.limits import MAX_FILES_PER_JOB
from haul.domain.options import OPTIONS_BY_TYPE
from haul.server.schemas import MAX_DB_INT
from haul.services.errors import BadRequest

PROTOCOLS = Literal["GRIDFTP", "SSH", "DUMMY", "FILE", "HTTPS", "XROOTD", "S3"]
# The submission body's own bounds (schemas.BodyId), so the schema shows them too.
SiteId = Annotated[int, Field(ge=0, le=MAX_DB_INT)]


class _Common(BaseModel):
    # Server-owned fields (id, user_id, log_uid, attempts, status) are ignored.
    model_config = ConfigDict(extra="ignore")

    priority: int = Field(default=5, ge=0, le=9, description="0 is most urgent")
    max_tries: int = Field(default=2, ge=1, le=100)
    metadata: dict[str, Any] | None = Field(default=None, description="at most 4 KiB of JSON")
    submission_id: str | None = Field(default=None, max_length=200)


def _file_model(t: JobType) -> type[BaseModel]:
    fields: dict[str, Any] = {
        "type": (Literal[t.name], ...),  # type: ignore[valid-type]
        "src_filepath": (str, Field(min_length=1, max_length=4096)),
        "extra_opts": (OPTIONS_BY_TYPE[t] | None, None),
        "protocol": (PROTOCOLS | None, None),
    }
    if t == JobType.COPY:
        fields["src_siteid"] = (SiteId | Literal["upload"], ...)
        fields["dst_siteid"] = (SiteId, ...)
        fields["dst_filepath"] = (str, Field(min_length=1, max_length=4096))
    elif t == JobType.RENAME:
        # A RENAME needs its site like any other; dst_siteid is tolerated when it repeats it.
        fields["src_siteid"] = (SiteId, ...)
        fields["dst_siteid"] = (
            SiteId | None,
            Field(default=None, description="if given, the same as src_siteid"),
        )
        fields["dst_filepath"] = (str, Field(min_length=1, max_length=4096))
    else:
        fields["src_siteid"] = (SiteId, ...)
    return create_model(f"{t.name.title()}Submission", __base__=_Common, **fields)


FILE_MODELS: dict[JobType, type[BaseModel]] = {t: _file_model(t) for t in JobType}

_CHECKSUM = r"^(?i:adler32|md5|sha256):[0-9a-fA-F]+$"


class ListedFile(BaseModel):
    """One file of a COPY's or REMOVE's ``files`` (domain/file_lists.py checks them)."""

    src_filepath: str = Field(min_length=1, max_length=4096)
    dst_filepath: str | None = Field(default=None, description="COPY: required")
    checksum: str | None = Field(
        default=None, pattern=_CHECKSUM, description="'ALGO:HEX' the source must match"
    )
    filesize: int | None = Field(default=None, ge=0, description="bytes the source must have")
    metadata: dict[str, Any] | None = Field(default=None, description="at most 1 KiB of JSON")


def _listed_model(t: JobType, *, for_schema: bool) -> type[BaseModel]:
    """A COPY or REMOVE that lists its files. Validation leaves ``files`` out
    (the service checks 100,000 items one by one, naming the index); the
    published schema has it."""
    fields: dict[str, Any] = {
        "type": (Literal[t.name], ...),  # type: ignore[valid-type]
        "src_siteid": (SiteId, ...),
        "extra_opts": (OPTIONS_BY_TYPE[t] | None, None),
        "protocol": (PROTOCOLS | None, None),
    }
    if t == JobType.COPY:
        fields["dst_siteid"] = (SiteId, ...)
    if for_schema:
        fields["files"] = (
            list[ListedFile],
            Field(min_length=1, max_length=MAX_FILES_PER_JOB),
        )
    suffix = "" if for_schema else "Check"
    return create_model(f"{t.name.title()}FilesSubmission{suffix}", __base__=_Common, **fields)


LISTED_MODELS: dict[JobType, type[BaseModel]] = {
    t: _listed_model(t, for_schema=False) for t in (JobType.COPY, JobType.REMOVE)
}


def custom_model(name: str, versions: Sequence[str] = ()) -> type[BaseModel]:
    """A custom type's submission; ``versions`` (the schema's) narrows ``version`` to them.

    Validation passes no versions: an unknown version is the type lookup's 400,
    which can name the type, where a Literal mismatch could not.
    """
    version: Any = Literal[tuple(versions)] if versions else str  # type: ignore[valid-type]
    return create_model(
        f"{name}Submission",
        __base__=_Common,
        type=(Literal[name], ...),  # type: ignore[valid-type]
        version=(version | None, Field(default=None, max_length=50)),
        name=(str | None, Field(default=None, max_length=200)),
        request=(Any, None),
        user=(str | int | None, None),
    )


def validate(model: type[BaseModel], body: dict[str, Any]) -> None:
    try:
        model.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        raise BadRequest(f"{where}: {err['msg']}") from None


def schema(custom_types: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The schema for the built-ins and ``custom_types`` (name -> its submittable versions).

    One variant per name, however many versions: ``oneOf`` fails a document
    that two identical variants both match.
    """
    models = [
        *FILE_MODELS.values(),
        *(_listed_model(t, for_schema=True) for t in LISTED_MODELS),
        *(custom_model(n, v) for n, v in custom_types.items()),
    ]
    defs: dict[str, Any] = {}
    variants = []
    for m in models:
        s = m.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(s.pop("$defs", {}))
        defs[m.__name__] = s
        variants.append({"$ref": f"#/$defs/{m.__name__}"})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "haul job submission",
        "description": "POST /workqueue/api/v1.0/jobs; one variant per job type",
        "oneOf": variants,
        "$defs": defs,
    }
