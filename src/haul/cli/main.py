"""The `haul` command."""

from __future__ import annotations

from typing import Annotated

import typer

from haul.cli import help_format, serve, work
from haul.cli.admin import admin_app, db_app

help_format.install()
app = typer.Typer(help="haul: a data-movement work queue.", no_args_is_help=True)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"haul {version('haul')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            from haul import __version__

            typer.echo(f"haul {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    _version_flag: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True,
                     help="print haul's version and exit"),
    ] = False,
) -> None:
    """haul: a data-movement work queue."""
app.command("server")(serve.server)
app.command("run")(serve.run)
app.command("worker")(work.worker)
app.add_typer(admin_app, name="admin")
app.add_typer(db_app, name="db")

# User commands over the HTTP API (haul.client).
from haul.cli import account_cmd, jobs_cmd, operations_cmd, sites_cmd, tree_cmd  # noqa: E402

app.command("login")(account_cmd.login)
app.command("logout")(account_cmd.logout)
app.command("whoami")(account_cmd.whoami)
app.command("sites")(sites_cmd.sites)
app.add_typer(sites_cmd.site_app, name="site")
app.command("list")(tree_cmd.list_cmd)
app.command("copy")(operations_cmd.copy_cmd)
app.command("remove")(tree_cmd.remove_cmd)
app.command("rename")(operations_cmd.rename_cmd)
app.command("mkdir")(operations_cmd.mkdir_cmd)
app.command("put")(operations_cmd.put_cmd)
app.command("jobs")(jobs_cmd.jobs)
app.command("status")(jobs_cmd.status)
app.command("log")(jobs_cmd.log)
app.command("watch")(jobs_cmd.watch)
app.command("cancel")(jobs_cmd.cancel)
app.command("finish")(jobs_cmd.finish)
app.command("retry")(jobs_cmd.retry)
app.command("pause")(jobs_cmd.pause)
app.command("resume")(jobs_cmd.resume)
app.command("delete")(jobs_cmd.delete)
app.command("recover")(jobs_cmd.recover)
