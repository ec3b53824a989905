"""Which side of a copy a failure belongs to: one context manager, `in_scope`.

Backends raise with scope TRANSFER: they do not know whether they are being
read from or written to. The copy engines do, step by step: each step runs
inside `in_scope(SOURCE)` or `in_scope(DESTINATION)`, and what fails there
carries that scope. A cancellation keeps its own scope (TRANSFER: nobody's
fault). A foreign exception (a bug, a library's surprise) becomes INTERNAL
with the step's scope, `what` naming the phase, unless `what` is None, in
which case it passes through untouched.

A class rather than a generator: the engine enters several per chunk and
per file, and an instance is reusable and allocation-free to enter.
"""

from __future__ import annotations

from types import TracebackType

from haul.domain.errors import ErrorCode, ErrorScope, TransferError


class in_scope:  # lower case: it reads as a function, `with in_scope(SOURCE):`
    __slots__ = ("scope", "what")

    def __init__(self, scope: ErrorScope, what: str | None = "copying") -> None:
        self.scope = scope
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc is None:
            return False
        if isinstance(exc, TransferError):
            if exc.code is not ErrorCode.CANCELLED:
                exc.with_scope(self.scope)
            return False
        if isinstance(exc, Exception) and self.what is not None:
            message = f"{self.what}: {type(exc).__name__}: {exc}"
            raise TransferError(ErrorCode.INTERNAL, message, scope=self.scope) from exc
        return False
