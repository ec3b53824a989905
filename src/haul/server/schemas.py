"""Request bodies. Enums are read as integers, numeric strings or names.

Fields the server owns (id, user_id, log_uid, attempts, status) are not in
these models, so a client that sends them back is simply ignored.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from haul.domain.enums import JobProtocol, JobType, parse_enum


def _enum_reader(enum: type, field: str) -> BeforeValidator:
    return BeforeValidator(lambda v: None if v is None else parse_enum(enum, v, field))


class JobSubmission(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Annotated[JobType | None, _enum_reader(JobType, "type")] = None
    src_siteid: int | None = None
    dst_siteid: int | None = None
    src_filepath: str | None = None
    dst_filepath: str | None = None
    extra_opts: dict[str, Any] | None = None
    priority: int = Field(default=5)
    protocol: Annotated[JobProtocol | None, _enum_reader(JobProtocol, "protocol")] = None
    max_tries: int = 2
    metadata: dict[str, Any] | None = None
    submission_id: str | None = Field(default=None, max_length=200)

    @field_validator("priority")
    @classmethod
    def _priority(cls, v: int) -> int:
        if not 0 <= v <= 9:
            raise ValueError("priority: must be between 0 (most urgent) and 9")
        return v


class RegisterUser(BaseModel):
    email: str
    passwd: str = Field(min_length=1)
    name: str = ""


class AdminCreateUser(RegisterUser):
    admin: bool = False


class Login(BaseModel):
    email: str
    passwd: str
    lifetime: int | None = Field(default=None, description="token lifetime in seconds")


class ChangePassword(BaseModel):
    passwd: str
    newpasswd: str


class NewToken(BaseModel):
    name: str = Field(default="api", max_length=200)
    lifetime: int = Field(default=30 * 24 * 3600, description="seconds until the token expires")


class NewSite(BaseModel):
    site_name: str
    site_desc: str = ""
    public: bool = False
    def_path: str = "/"
    endpoints: list[str]
    requires_credential: bool | None = None


class NewCredential(BaseModel):
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
