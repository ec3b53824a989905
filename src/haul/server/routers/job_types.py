"""Job types (Scale's job types) under /workqueue/api/v1.0/job-types."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from haul.domain.limits import MAX_TRIES, PRIORITY
from haul.server.deps import AdminUser, CurrentUser, ReadSession, WriteSession
from haul.services import job_types

router = APIRouter(prefix="/job-types")


class NewJobType(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    version: str = "1"
    title: str = ""
    description: str = ""
    category: str = ""
    priority: int = Field(default=PRIORITY.default, ge=PRIORITY.low, le=PRIORITY.high)
    max_tries: int = Field(default=MAX_TRIES.default, ge=MAX_TRIES.low, le=MAX_TRIES.high)
    timeout: int | None = Field(default=None, ge=1)
    is_paused: bool = False
    is_active: bool = True
    max_scheduled: int | None = Field(default=None, ge=1)


class JobTypePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    description: str | None = None
    category: str | None = None
    priority: int | None = Field(default=None, ge=PRIORITY.low, le=PRIORITY.high)
    max_tries: int | None = Field(default=None, ge=MAX_TRIES.low, le=MAX_TRIES.high)
    timeout: int | None = Field(default=None, ge=1)
    is_paused: bool | None = None
    is_active: bool | None = None
    max_scheduled: int | None = Field(default=None, ge=1)


@router.get("")
def list_job_types(user: CurrentUser, session: ReadSession) -> list[dict[str, Any]]:
    return [job_types.type_json(r) for r in job_types.list_types(session)]


@router.post("")
def create_job_type(body: NewJobType, admin: AdminUser, session: WriteSession) -> JSONResponse:
    row = job_types.create_type(session, body.model_dump())
    return JSONResponse(job_types.type_json(row), status_code=201)


@router.get("/{name}/{version}")
def get_job_type(name: str, version: str, user: CurrentUser, session: ReadSession) -> dict:
    return job_types.type_json(job_types.get_type(session, name, version))


@router.patch("/{name}/{version}")
def patch_job_type(
    name: str, version: str, body: JobTypePatch, admin: AdminUser, session: WriteSession
) -> dict[str, Any]:
    fields = body.model_dump(exclude_unset=True)
    return job_types.type_json(job_types.patch_type(session, name, version, fields))
