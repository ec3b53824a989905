"""Per-type submission models: the server validates each job with its type's
model, and ``GET /jobs/schema`` publishes the same models as JSON Schema.

Keeping one set of models for both is what makes the schema exact: it lists
every field the server accepts for a type, with the constraints it enforces.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from haul.domain.enums import JobType
from haul.domain.options import OPTIONS_BY_TYPE
from haul.services.errors import BadRequest

PROTOCOLS = Literal["GRIDFTP", "SSH", "DUMMY", "FILE", "HTTPS", "XROOTD", "S3"]


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
        fields["src_siteid"] = (int | Literal["upload"], ...)
        fields["dst_siteid"] = (int, Field(ge=0))
        fields["dst_filepath"] = (str, Field(min_length=1, max_length=4096))
    elif t == JobType.RENAME:
        fields["dst_filepath"] = (str, Field(min_length=1, max_length=4096))
    else:
        fields["src_siteid"] = (int, Field(ge=0))
    return create_model(f"{t.name.title()}Submission", __base__=_Common, **fields)


FILE_MODELS: dict[JobType, type[BaseModel]] = {t: _file_model(t) for t in JobType}


def custom_model(name: str) -> type[BaseModel]:
    return create_model(
        f"{name}Submission",
        __base__=_Common,
        type=(Literal[name], ...),  # type: ignore[valid-type]
        version=(str | None, Field(default=None, max_length=50)),
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


def schema(custom_types: list[str]) -> dict[str, Any]:
    models = [*FILE_MODELS.values(), *(custom_model(n) for n in custom_types)]
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
