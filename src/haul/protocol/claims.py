"""The claim request: ``POST /worker/jobs``, what a worker asks work for.

``ClaimBody`` is what the server validates; ``ClaimRequest`` is the same body
as the worker builds it (a plain dict; ``algorithm.args`` is not a Python
name, hence the functional ``TypedDict`` form). The answer, a list of leased
jobs, is in ``leases``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from typing_extensions import TypedDict

from haul.domain.claim_limits import DEFAULT_LIMIT, DEFAULT_SIZE, MAX_BATCH
from haul.domain.enums import JobProtocol, parse_enum
from haul.domain.lanes import ClaimLane


class Algorithm(StrEnum):
    """How a claim is bounded (pdm's ``algorithm``; ``algorithm.args`` gives the bounds)."""

    BY_NUMBER = "BY_NUMBER"  # at most ``limit`` elements
    BY_SIZE = "BY_SIZE"  # elements up to ``size`` bytes (and ``limit``, when given)


def _enums(enum: type, field: str) -> BeforeValidator:
    def read(values: Any) -> Any:
        if values is None:
            return None
        if not isinstance(values, list):
            values = [values]
        return [parse_enum(enum, v, field) for v in values]

    return BeforeValidator(read)


class AlgorithmArgs(BaseModel):
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_BATCH)
    size: int = Field(default=DEFAULT_SIZE, ge=1)


class ClaimBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    types: list[str | int] | None = Field(
        default=None, description="built-in type names or numbers, and custom type names"
    )
    protocols: Annotated[list[JobProtocol] | None, _enums(JobProtocol, "protocols")] = None
    algorithm: Algorithm = Algorithm.BY_NUMBER
    algorithm_args: AlgorithmArgs = Field(default_factory=AlgorithmArgs, alias="algorithm.args")
    lease_seconds: int | None = Field(default=None, ge=5, le=24 * 3600)
    wait: float = Field(default=0, ge=0, le=60, description="long-poll seconds when idle")
    lane: ClaimLane = Field(
        default=ClaimLane.ALL,
        description="namespace: only namespace operations (LIST, MKDIR, RENAME, the REMOVE "
        "of one path), for a worker whose transfer slots are busy; all: those, then transfers",
    )


class ClaimArgs(TypedDict, total=False):
    limit: int
    size: int


# The worker's form of ClaimBody: only the keys it means are sent (an older
# server never sees ``lane`` unless the worker asks for the namespace lane).
ClaimRequest = TypedDict(
    "ClaimRequest",
    {
        "types": list[str],
        "protocols": list[str],
        "algorithm": Algorithm,
        "algorithm.args": ClaimArgs,
        "lease_seconds": int,
        "wait": float,
        "lane": str,
    },
    total=False,
)
