"""Two adjustments to how Typer (0.29) renders `haul ... --help`.

Typer prints a type column for every option, ``<bool>`` included, which on a
plain flag (``--wait``, ``--json``) reads as if it took a value; and it wraps
required arguments in braces in usage lines (``haul copy [OPTIONS] {SRC}
{DST}``), which no shell convention uses. Flags get no type, and usage lines
read ``haul copy [OPTIONS] SRC DST`` (optional arguments keep their brackets).
Applied once, when the CLI is imported; other types keep their labels.
"""

from __future__ import annotations

from typing import Any

from typer import core


def install() -> None:
    option_type = core.TyperOption.display_type_rich

    def display_type_rich(self: core.TyperOption, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False) and self.metavar is None:
            return None
        return option_type(self, ctx)

    def usage_name(self: core.TyperArgument) -> str:
        name = self.display_name_raw
        if not self.required:
            name = f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    core.TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
    core.TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]
