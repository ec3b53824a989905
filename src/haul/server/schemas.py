"""Request bodies of the user, site and credential routes.

Fields the server owns are not in these models, so a client that sends them
back is simply ignored. The submission bodies are the protocol's
(``protocol/submission_body.py``), shared with the client.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import ConfigDict, Field

from haul.protocol.bodies import MAX_DB_INT, StorableBody

# Ids are 32-bit INTEGER columns (protocol/bodies.py): in a path as in a body.
PathId = Annotated[int, Path(ge=0, le=MAX_DB_INT)]


class RegisterUser(StorableBody):
    email: str
    passwd: str = Field(min_length=1)
    name: str = Field(default="", max_length=200)


class AdminCreateUser(RegisterUser):
    admin: bool = False


class Login(StorableBody):
    email: str
    passwd: str
    lifetime: int | None = Field(default=None, description="token lifetime in seconds")


class ChangePassword(StorableBody):
    passwd: str
    newpasswd: str


class NewToken(StorableBody):
    name: str = Field(default="api", max_length=200)
    lifetime: int | None = Field(
        default=None,
        description="seconds until the token expires (default 30 days, at most what the "
        "token making the request has left, unless that token is an admin's)",
    )


class NewSite(StorableBody):
    site_name: str
    site_desc: str = ""
    public: bool = False
    def_path: str = "/"
    endpoints: list[str]
    requires_credential: bool | None = None
    host_key: str | None = Field(
        default=None, description="sftp: the server's OpenSSH host key; else pinned on first use"
    )


class HostKey(StorableBody):
    host_key: str = Field(description="an OpenSSH public key line, 'TYPE BASE64'")


class NewCredential(StorableBody):
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
