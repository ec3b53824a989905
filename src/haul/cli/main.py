"""The `haul` command."""

from __future__ import annotations

import typer

from haul.cli import serve, work
from haul.cli.admin import admin_app, db_app

app = typer.Typer(help="haul: a data-movement work queue.", no_args_is_help=True)
app.command("server")(serve.server)
app.command("run")(serve.run)
app.command("worker")(work.worker)
app.add_typer(admin_app, name="admin")
app.add_typer(db_app, name="db")
