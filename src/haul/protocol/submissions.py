"""Per-type submission models: the server validates each job with its type's
model, and ``GET /jobs/schema`` publishes the same models as JSON Schema.

Keeping one set of models for both is what makes the schema exact: it lists
every field the server accepts for a type, with the constraints it enforces.

The built-in types are one discriminated union, ``BUILTIN_SUBMISSION``: its
tag is the type's name, and ``NAME+files`` for a COPY or REMOVE that lists
its files (``files`` itself is checked item by item by the service, naming
the index, so 100,000 items cost no models). Custom job types are not in the
union: they are rows of the database, not of the code, so their model is
made per name (``custom_model``), as before.

What was chosen, and why (the bodies are checked in two passes, as before):

- ``submission_body.JobSubmission``, the body every route reads, checks what
  every type shares, whatever the route: the routes decide the type (a typed
  route's wins over the body's), so a union cannot be the route's body
  without changing which complaint comes first and how it reads. The models
  here only show those bounds (``json_schema_extra``), so the schema lists
  them without a second check.
- The union checks what a type needs: which fields, their types, a path's
  length, the type's options. Its errors are reported without the tag, so
  they read as each model's own did.
- The published schema is built from the same models, one ``oneOf`` variant
  per type, not from the union's own JSON Schema (which would add a second
  variant per listed form and a ``discriminator`` mapping, and change the
  published document).

This module raises nothing of the server's: ``first_problem`` answers the
message, and the server turns it into its 400 (``server/submission_checks.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    create_model,
)

from haul.domain.enums import JobType
from haul.domain.limits import MAX_TRIES, PRIORITY
from haul.domain.options import OPTIONS_BY_TYPE
from haul.protocol.bodies import MAX_DB_INT
from haul.protocol.submission_body import MAX_LABEL, MAX_SUBMISSION_ID, MAX_VERSION

PROTOCOLS = Literal["GRIDFTP", "SSH", "DUMMY", "FILE", "HTTPS", "XROOTD", "S3"]
# The submission body's own bounds (bodies.BodyId), so the schema shows them too.
SiteId = Annotated[int, Field(ge=0, le=MAX_DB_INT)]
LISTS_FILES = (JobType.COPY, JobType.REMOVE)


def _shown_length(kind: Any, most: int) -> Any:
    """``kind`` with a maximum length the schema shows and JobSubmission checks."""
    return Annotated[kind, Field(json_schema_extra={"maxLength": most})]


class _Common(BaseModel):
    # Server-owned fields (id, user_id, log_uid, attempts, status) are ignored.
    model_config = ConfigDict(extra="ignore")

    # Bounds checked by JobSubmission, shown here (see the module docstring).
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
    """The rest of a COPY or REMOVE that lists its files (``files`` itself is left out)."""
    fields: dict[str, Any] = {
        "type": (Literal[t.name], ...),  # type: ignore[valid-type]
        "src_siteid": (SiteId, ...),
        "extra_opts": (OPTIONS_BY_TYPE[t] | None, None),
        "protocol": (PROTOCOLS | None, None),
    }
    if t == JobType.COPY:
        fields["dst_siteid"] = (SiteId, ...)
    return create_model(f"{t.name.title()}FilesSubmission", __base__=_Common, **fields)


LISTED_MODELS: dict[JobType, type[BaseModel]] = {t: _listed_model(t) for t in LISTS_FILES}


def form_tag(body: Mapping[str, Any]) -> str:
    """The union's tag for a submission: its type's name, ``+files`` when it lists files."""
    name = str(body.get("type"))
    return f"{name}+files" if body.get("files") is not None else name


_VARIANTS = [Annotated[m, Tag(t.name)] for t, m in FILE_MODELS.items()] + [
    Annotated[m, Tag(f"{t.name}+files")] for t, m in LISTED_MODELS.items()
]
BuiltinSubmission = Annotated[Union[tuple(_VARIANTS)], Discriminator(form_tag)]  # noqa: UP007
BUILTIN_SUBMISSION: TypeAdapter[Any] = TypeAdapter(BuiltinSubmission)


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


def first_problem(body: Mapping[str, Any], custom: str | None = None) -> str | None:
    """The first complaint about ``body`` (types by name), as ``where: message``; None if none.

    A built-in type's body goes through the union, whose tag leads each
    error's location and is left out here; ``custom`` names a custom type.
    """
    try:
        if custom is None:
            BUILTIN_SUBMISSION.validate_python(body)
        else:
            custom_model(custom).model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err["loc"][1:] if custom is None else err["loc"]
        where = ".".join(str(p) for p in loc) or "body"
        return f"{where}: {err['msg']}"
    return None


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
