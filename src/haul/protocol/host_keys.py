"""Pinning an SFTP site's host key: ``PUT /worker/host_key``, trust on first use.

The holder of a lease on the site tells the server the key it saw; the
answer is the key now pinned (the first one told wins).
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from typing_extensions import TypedDict


class HostKeyPin(BaseModel):
    jobid: int
    elementid: int
    token: str
    site_id: int
    host_key: str = Field(max_length=16_384)


class HostKeyPinItem(TypedDict):
    """A ``HostKeyPin`` as the worker sends it."""

    jobid: int
    elementid: int
    token: str
    site_id: int
    host_key: str


class PinnedKey(TypedDict):
    site_id: int
    host_key: str | None
