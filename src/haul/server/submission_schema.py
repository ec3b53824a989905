"""Per-type submission models: the server validates each job with its type's
model, and ``GET /jobs/schema`` publishes the same models as JSON Schema.

Keeping one set of models for both is what makes the schema exact: it lists
every field the server accepts for a type, with the constraints it enforces.

Each check of a submission has one home:

- ``schemas.JobSubmission``, the body every submission route reads, checks
  what every type shares: values the store can keep, enums, the priority and
  max_tries bounds, lengths of ids and labels, the size of metadata. The
  models here only show those bounds (``json_schema_extra``), so the schema
  lists them without a second check.
- The models here check what a type needs: which fields, their types, a
  path's length, the type's options; ``check_file_job`` and
  ``check_custom_job`` also refuse a file list or a request where the type
  takes none.
- services/jobs.py and custom_jobs.py check what needs the database (sites,
  credentials, bans, uploads, protocols, the job type) and a path's rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from haul.domain.enums import JobType
from haul.domain.limits import MAX_TRIES, PRIORITY
from haul.domain.options import OPTIONS_BY_TYPE
from haul.server.schemas import MAX_DB_INT, MAX_LABEL, MAX_SUBMISSION_ID, MAX_VERSION, JobSubmission
from haul.services import file_jobs
from haul.services.errors import BadRequest

PROTOCOLS = Literal["GRIDFTP", "SSH", "DUMMY", "FILE", "HTTPS", "XROOTD", "S3"]
# The submission body's own bounds (schemas.BodyId), so the schema shows them too.
SiteId = Annotated[int, Field(ge=0, le=MAX_DB_INT)]


def _shown_length(kind: Any, most: int) -> Any:
    """``kind`` with a maximum length the schema shows and JobSubmission checks."""
    return Annotated[kind, Field(json_schema_extra={"maxLength": most})]


class _Common(BaseModel):
    # Server-owned fields (id, user_id, log_uid, attempts, status) are ignored.
    model_config = ConfigDict(extra="ignore")

    # Bounds checked by schemas.JobSubmission, shown here (see the module docstring).
    priority: int = Field(
        default=PRIORITY.default,
        description=f"{PRIORITY.low} is most urgent",
        json_schema_extra={"minimum": PRIORITY.low, "maximum": PRIORITY.high},
    )
    max_tries: int = Field(
        default=MAX_TRIES.default,
        json_schema_extra={"minimum": MAX_TRIES.low, "maximum": MAX_TRIES.high},
    )
    metadata: dict[str, Any] | None = Field(default=None, description="at most 4 KiB of JSON")
    submission_id: _shown_length(str, MAX_SUBMISSION_ID) | None = None  # type: ignore[valid-type]


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


def _listed_model(t: JobType) -> type[BaseModel]:
    """The rest of a COPY or REMOVE that lists its files: ``files`` itself is left
    out (the service checks up to 100,000 items one by one, naming the index)."""
    fields: dict[str, Any] = {
        "type": (Literal[t.name], ...),  # type: ignore[valid-type]
        "src_siteid": (SiteId, ...),
        "extra_opts": (OPTIONS_BY_TYPE[t] | None, None),
        "protocol": (PROTOCOLS | None, None),
    }
    if t == JobType.COPY:
        fields["dst_siteid"] = (SiteId, ...)
    return create_model(f"{t.name.title()}FilesSubmission", __base__=_Common, **fields)


LISTED_MODELS: dict[JobType, type[BaseModel]] = {
    t: _listed_model(t) for t in (JobType.COPY, JobType.REMOVE)
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
        version=(_shown_length(version, MAX_VERSION) | None, None),
        name=(_shown_length(str, MAX_LABEL) | None, None),
        request=(Any, None),
        user=(str | int | None, None),
    )


def check_file_job(body: JobSubmission, job_type: JobType) -> None:
    """A built-in type's submission, by its model (the file-list form's when it lists files)."""
    if body.request is not None:
        raise BadRequest("request: only custom job types take a request")
    if body.files is not None:
        # Before the type's model, whose first complaint would be a missing path.
        file_jobs.check_listing(job_type, body.files, body.src_filepath, body.dst_filepath)
        # The files themselves are checked item by item by the service.
        model = LISTED_MODELS[job_type]
    else:
        model = FILE_MODELS[job_type]
    validate(model, _as_named(body, job_type))


def check_custom_job(body: JobSubmission, type_name: str) -> None:
    validate(custom_model(type_name), _as_named(body, type_name))


def _as_named(body: JobSubmission, type_name: JobType | str) -> dict[str, Any]:
    """The submission as its type's model reads it: enums by name, defaults unset."""
    d = body.model_dump(exclude_unset=True, exclude={"files"})
    d["type"] = type_name if isinstance(type_name, str) else type_name.name
    if body.protocol is not None:
        d["protocol"] = body.protocol.name
    return d


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
    # One variant per type: a second COPY/REMOVE variant for the ``files``
    # form would make ``oneOf`` match neither. The file-list form is described
    # in the schema's description and docs/api.md.
    models = [*FILE_MODELS.values(), *(custom_model(n, v) for n, v in custom_types.items())]
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
        "description": (
            "POST /workqueue/api/v1.0/jobs; one variant per job type. A COPY or REMOVE may "
            "give files=[{src_filepath, dst_filepath, checksum, filesize, metadata, sources}] "
            "instead of src_filepath/dst_filepath (docs/api.md, jobs that list their files)"
        ),
        "oneOf": variants,
        "$defs": defs,
    }
