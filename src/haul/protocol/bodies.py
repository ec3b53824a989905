"""What every request body refuses, whoever reads it: values no store can keep.

Shared by the submission models here and the server's other bodies
(``server/schemas.py``), so the rule has one home.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

# Ids are 32-bit INTEGER columns: a larger number cannot name a row, and sending
# it to the database would fail there (a 500) instead of here (a 422).
MAX_DB_INT = 2**31 - 1
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


class StorableBody(BaseModel):
    """Refuses values the store cannot keep (see ``unstorable``) with a 400."""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        problem = unstorable(data)
        if problem is not None:
            raise ValueError(problem)
        return data
