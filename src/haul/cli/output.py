"""How the user-facing commands print, fail and connect.

Every command that talks to a server is wrapped in `command`, which turns
any failure into one line on stderr and an exit code (1: the operation
failed, 2: the command line was wrong), so users never see a traceback.
With ``--json`` the answer goes to stdout as JSON, and so does the error
(as ``{"error": ..., "status": ...}``), so scripts can read both.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console

from haul.client import ClientException, Context, Unauthorized

ServerOpt = Annotated[
    str | None,
    typer.Option("--server", envvar="HAUL_SERVER",
                 help="haul server URL (default: the one `haul login` stored)"),
]
TokenOpt = Annotated[
    str | None,
    typer.Option("--token", envvar="HAUL_TOKEN", show_envvar=True,
                 help="API token (default: the one `haul login` stored)"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]

EXIT_FAILED = 1
EXIT_USAGE = 2

P = ParamSpec("P")
R = TypeVar("R")


def _console(stderr: bool) -> Console:
    # Piped output keeps whole lines instead of being cut at 80 columns.
    stream = sys.stderr if stderr else sys.stdout
    wide = not stream.isatty() and "COLUMNS" not in os.environ
    # markup=False: site names, paths and server messages are data, never Rich markup.
    return Console(stderr=stderr, highlight=False, markup=False, width=200 if wide else None)


out = _console(stderr=False)
err = _console(stderr=True)


class UsageProblem(Exception):
    """A command line that cannot work as given (exit 2), found after parsing."""


class Failed(Exception):
    """The operation ran and did not succeed (exit 1), e.g. a job that ended FAILED."""


def usage(message: str) -> NoReturn:
    raise UsageProblem(message)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def connect(server: str | None, token: str | None) -> Context:
    try:
        return Context(server, token)
    except ClientException as exc:
        usage(exc.detail or str(exc))


def _fail(message: str, code: int, as_json: bool, status: int | None = None) -> NoReturn:
    if as_json:
        emit_json({"error": message, "status": status})
    err.print(f"error: {message}", markup=False, soft_wrap=True)
    raise typer.Exit(code)


def _client_message(exc: ClientException) -> str:
    detail = exc.detail or str(exc)
    if isinstance(exc, Unauthorized) and exc.status_code == 401:
        return f"{detail} (log in with `haul login`, or pass --token)"
    if exc.status_code is not None:
        return f"{detail} (HTTP {exc.status_code})"
    return detail


def command(fn: Callable[P, R]) -> Callable[P, R]:
    """Runs a command with haul's error handling: one line on stderr and exit 1 or 2.

    ``HAUL_DEBUG=1`` lets unexpected exceptions through with their traceback.
    """

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        as_json = bool(kwargs.get("json_out", False))
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except UsageProblem as exc:
            _fail(str(exc), EXIT_USAGE, as_json)
        except Failed as exc:
            _fail(str(exc), EXIT_FAILED, as_json)
        except ClientException as exc:
            _fail(_client_message(exc), EXIT_FAILED, as_json, exc.status_code)
        except TimeoutError as exc:
            _fail(str(exc) or "timed out", EXIT_FAILED, as_json)
        except OSError as exc:
            _fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc),
                  EXIT_FAILED, as_json)
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None
        except Exception as exc:
            if os.environ.get("HAUL_DEBUG"):
                raise
            _fail(f"unexpected {type(exc).__name__}: {exc} (HAUL_DEBUG=1 shows more)",
                  EXIT_FAILED, as_json)

    return run


def size(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


def short_time(iso: str | None) -> str:
    """'2026-11-22 16:33' from an ISO timestamp: tables need minutes, not microseconds."""
    if not iso:
        return "-"
    return iso.replace("T", " ")[:16]
