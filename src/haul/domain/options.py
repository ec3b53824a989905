"""The ``extra_opts`` each job type accepts.

Options reach worker code, so unknown keys are refused (400) rather than
passed along blindly; each type's model is also what the job schema shows.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from haul.domain.enums import JobType


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ListOptions(_Options):
    depth: int = Field(default=1, ge=0, le=1000, description="levels to list; 0 = unlimited")


class CopyOptions(_Options):
    overwrite: bool = False
    checksum: Literal["adler32", "md5", "sha256", "none"] = "adler32"
    verify: bool = True
    follow_links: bool = Field(
        default=False,
        description="copy what symbolic links point to (inside the worker's file roots) "
        "instead of skipping them",
    )


class RemoveOptions(_Options):
    pass


class RenameOptions(_Options):
    overwrite: bool = False


class MkdirOptions(_Options):
    parents: bool = True


OPTIONS_BY_TYPE: dict[JobType, type[_Options]] = {
    JobType.LIST: ListOptions,
    JobType.COPY: CopyOptions,
    JobType.REMOVE: RemoveOptions,
    JobType.RENAME: RenameOptions,
    JobType.MKDIR: MkdirOptions,
}


class OptionsError(ValueError):
    pass


def validate_options(job_type: JobType, opts: Any) -> dict[str, Any]:
    """Checks options and returns them with defaults filled in."""
    if opts is None:
        opts = {}
    if not isinstance(opts, dict):
        raise OptionsError("extra_opts: must be a JSON object")
    model = OPTIONS_BY_TYPE[job_type]
    try:
        return model.model_validate(opts).model_dump()
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(model.model_fields) or "none"
            raise OptionsError(
                f"extra_opts.{where}: not an option of {job_type.name} (allowed: {allowed})"
            ) from exc
        raise OptionsError(f"extra_opts.{where}: {err['msg']}") from exc
