"""Request bodies. Enums are read as integers, numeric strings or names.

Fields the server owns (id, user_id, log_uid, attempts, status) are not in
these models, so a client that sends them back is simply ignored.
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from haul.domain.enums import JobProtocol, JobType, parse_enum
from haul.domain.limits import MAX_TRIES, PRIORITY

# Ids are 32-bit INTEGER columns: a larger number cannot name a row, and sending
# it to the database would fail there (a 500) instead of here (a 422).
MAX_DB_INT = 2**31 - 1
PathId = Annotated[int, Path(ge=0, le=MAX_DB_INT)]
BodyId = Annotated[int, Field(ge=0, le=MAX_DB_INT)]


def unstorable(data: Any) -> str | None:
    """The first value no database (or JSON response) can hold, named by its path.

    NUL in text (PostgreSQL refuses it), lone UTF-16 surrogates (not UTF-8), and
    NaN or Infinity (not JSON) are refused anywhere in a body, keys included.
    """
    stack: list[tuple[str, Any]] = [("body", data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return f"{where}: must not contain a NUL character"
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return f"{where}: is not valid UTF-8 (lone surrogate)"
        elif isinstance(value, float) and not math.isfinite(value):
            return f"{where}: NaN and Infinity are not JSON numbers"
        elif isinstance(value, dict):
            for key, item in value.items():
                name = str(key) if where == "body" else f"{where}.{key}"
                stack += [(where, key), (name, item)]
        elif isinstance(value, list):
            stack += [(f"{where}[{i}]", item) for i, item in enumerate(value)]
    return None


class _Body(BaseModel):
    """Refuses values the store cannot keep (see ``unstorable``) with a 400."""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        problem = unstorable(data)
        if problem is not None:
            raise ValueError(problem)
        return data


def _enum_reader(enum: type, field: str) -> BeforeValidator:
    return BeforeValidator(lambda v: None if v is None else parse_enum(enum, v, field))


MAX_METADATA_BYTES = 4096
MAX_SUBMISSION_ID = 200
MAX_VERSION = 50
MAX_LABEL = 200  # a custom job's name
CUSTOM_TYPE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")


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


class JobSubmission(_Body):
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


class RegisterUser(_Body):
    email: str
    passwd: str = Field(min_length=1)
    name: str = Field(default="", max_length=200)


class AdminCreateUser(RegisterUser):
    admin: bool = False


class Login(_Body):
    email: str
    passwd: str
    lifetime: int | None = Field(default=None, description="token lifetime in seconds")


class ChangePassword(_Body):
    passwd: str
    newpasswd: str


class NewToken(_Body):
    name: str = Field(default="api", max_length=200)
    lifetime: int | None = Field(
        default=None,
        description="seconds until the token expires (default 30 days, at most what the "
        "token making the request has left, unless that token is an admin's)",
    )


class NewSite(_Body):
    site_name: str
    site_desc: str = ""
    public: bool = False
    def_path: str = "/"
    endpoints: list[str]
    requires_credential: bool | None = None
    host_key: str | None = Field(
        default=None, description="sftp: the server's OpenSSH host key; else pinned on first use"
    )


class HostKey(_Body):
    host_key: str = Field(description="an OpenSSH public key line, 'TYPE BASE64'")


class NewCredential(_Body):
    model_config = ConfigDict(extra="allow")

    lifetime: int | None = Field(default=None, description="seconds the credential stays valid")
    username: str | None = None
    password: str | None = None
    private_key: str | None = None
    passphrase: str | None = None
    token: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    region: str | None = None
