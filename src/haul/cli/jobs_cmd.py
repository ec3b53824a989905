"""`haul jobs|status|log|watch` and the control verbs on one job.

The verbs print the job's status after the change; one the job's state does
not allow fails with the server's explanation (which names that state).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

import haul.client as haul
from haul.cli.failures import error_lines, located
from haul.cli.operations_cmd import describe, follow, outcome
from haul.cli.output import (
    Failed,
    JsonOpt,
    ServerOpt,
    TokenOpt,
    command,
    connect,
    emit_json,
    out,
    short_time,
    size,
    usage,
)
from haul.cli.targets import Sites, parse_job_ref
from haul.client import ClientException
from haul.client._wait import LEASED_NAMES, TERMINAL, snapshot
from haul.domain.limits import MAX_TRIES, PRIORITY

JobArg = Annotated[str, typer.Argument(metavar="JOB", help="job id")]
ELEMENTS_SHOWN = 100


def _job_id(text: str) -> int:
    job_id, element = parse_job_ref(text)
    if element is not None:
        usage(f"{text!r}: expected a job id, not JOB.ELEMENT")
    return job_id


def _progress_cell(job: haul.Job) -> str:
    snap = snapshot(job, None)
    total = snap.files_total or 0
    width = 10
    filled = round(width * snap.files_done / total) if total else 0
    bar = "█" * filled + "·" * (width - filled)
    failed = f" {snap.files_failed}✗" if snap.files_failed else ""
    return f"{bar} {snap.files_done}/{total}{failed}"


@command
def jobs(
    status: Annotated[
        list[str] | None, typer.Option("--status", "-s", help="only these statuses (repeatable)")
    ] = None,
    type: Annotated[
        list[str] | None, typer.Option("--type", "-t", help="only these types (repeatable)")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000)] = 50,
    all_users: Annotated[bool, typer.Option("--all", help="every user's jobs (admins)")] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List your jobs, newest first, with their progress."""
    with connect(server, token) as ctx:
        try:
            rows = haul.list_jobs(ctx, status=status, type=type, limit=limit, all=all_users)
        except ClientException as exc:
            if all_users and exc.status_code == 403:
                raise Failed("--all: only admins can list other users' jobs") from None
            raise
        if json_out:
            emit_json(rows)
            return
        sites = Sites(ctx)
        table = Table("ID", "TYPE", "STATUS", "FROM", "TO", "PROGRESS", "SUBMITTED")
        for j in rows:
            to = (sites.place(j.get("dst_siteid"), j.get("dst_filepath"))
                  if j.get("dst_siteid") is not None else "")
            table.add_row(str(j["id"]), j.get("type", ""), _status_cell(ctx, j),
                          sites.place(j.get("src_siteid"), j.get("src_filepath")), to,
                          _progress_cell(j), short_time(j.get("timestamp")))
        out.print(table)


def _status_cell(ctx: haul.Context, job: haul.Job) -> str:
    """A job with failed files names its main error: "FAILED NOT_FOUND x412"."""
    status = job.get("status", "")
    if not (job.get("num_failed") or 0):
        return status
    groups = haul.get_job_errors(ctx, int(job["id"]))
    if not groups:
        return status
    main = groups[0]
    more = f" +{len(groups) - 1}" if len(groups) > 1 else ""
    return f"{status} {main['code']} x{main['count']}{more}"


def _print_job(ctx: haul.Context, job_id: int) -> None:
    job = haul.get_job(ctx, job_id)
    elements = haul.get_job_elements(ctx, job_id, limit=ELEMENTS_SHOWN)
    sites = Sites(ctx)
    out.print(f"job {job_id}: {describe(job, sites)}", markup=False)
    out.print(outcome(job), markup=False)
    out.print(f"priority {job.get('priority')}, max tries {job.get('max_tries')}, "
              f"protocol {job.get('protocol')}, submitted {short_time(job.get('timestamp'))}")
    if job.get("metadata"):
        out.print(f"metadata: {job.get('metadata')}", markup=False)
    if job.get("num_failed"):
        out.print("failed, by error:")
        for line in error_lines(job, haul.get_job_errors(ctx, job_id), sites):
            out.print(line, markup=False, soft_wrap=True)
    table = Table("ELEMENT", "TYPE", "STATUS", "SIZE", "TRIES", "SOURCE", "DESTINATION",
                  "ERROR")
    for e in elements:
        error = e.get("error") or {}
        table.add_row(f"{job_id}.{e['id']}", e.get("type", ""), e.get("status", ""),
                      size(e.get("size")), f"{e.get('attempts')}/{e.get('max_tries')}",
                      e.get("src_filepath", ""), e.get("dst_filepath") or "",
                      str(error.get("code") or ""))
    out.print(table)
    more = job.get("num_elements", 0) - len(elements)
    if more > 0:
        out.print(f"... and {more} more elements (`haul status {job_id} --json` shows all)")


def _print_element(element: haul.Element, job: haul.Job, sites: Sites) -> None:
    out.print(f"element {element.get('job_id')}.{element.get('id')}: {element.get('type')} "
              f"{element.get('status')}", markup=False)
    out.print(f"source       {element.get('src_filepath')}", markup=False)
    if element.get("dst_filepath"):
        out.print(f"destination  {element.get('dst_filepath')}", markup=False)
    out.print(f"size         {size(element.get('size'))}")
    out.print(f"attempts     {element.get('attempts')} of {element.get('max_tries')}")
    out.print(f"updated      {short_time(element.get('timestamp'))}")
    error = element.get("error")
    if error:
        dst = error.get("scope") == "DESTINATION" and element.get("dst_filepath")
        where = (sites.place(job.get("dst_siteid"), element.get("dst_filepath")) if dst
                 else sites.place(job.get("src_siteid"), element.get("src_filepath")))
        at = located(where, error.get("message"))
        out.print(f"error        {error.get('code')} ({error.get('scope')}){at}: "
                  f"{error.get('message')}", markup=False)
    progress = element.get("progress") or {}
    moved = int(progress.get("transferred") or 0)
    speed = float(progress.get("instant") or progress.get("average") or 0)
    if element.get("status") in LEASED_NAMES:
        if moved or speed:
            left = element.get("size") or 0
            eta = f", about {int((left - moved) / speed)} s left" if speed and left > moved else ""
            out.print(f"progress     {size(moved)} of {size(element.get('size'))} at "
                      f"{size(int(speed))}/s{eta}")
        else:
            out.print("progress     started, no bytes reported yet")
    elif moved:
        out.print(f"moved        {size(moved)} (last report)")


@command
def status(
    ref: Annotated[str, typer.Argument(metavar="JOB[.ELEMENT]", help="e.g. 12 or 12.3")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show a job with its elements, or one element."""
    job_id, element_id = parse_job_ref(ref)
    with connect(server, token) as ctx:
        if element_id is not None:
            element = haul.get_element(ctx, job_id, element_id)
            if json_out:
                emit_json(element)
            else:
                _print_element(element, haul.get_job(ctx, job_id), Sites(ctx))
        elif json_out:
            emit_json(haul.get_job_status(ctx, job_id, list_files=True))
        else:
            _print_job(ctx, job_id)


def _print_output(o: haul.Output) -> None:
    host = f" on {o.get('host')}" if o.get("host") else ""
    out.print(f"── {o.get('jobid')}.{o.get('elementid')} attempt {o.get('attempt')}: "
              f"{o.get('type')} {o.get('status')}{host}", markup=False, style="bold")
    out.print(o.get("log") or "(no log)", markup=False, highlight=False)
    error = o.get("error")
    if error:
        out.print(f"error: {error.get('code')}: {error.get('message')}", markup=False)


@command
def log(
    job: JobArg,
    element: Annotated[int | None, typer.Option("--element", "-e", help="one element")] = None,
    attempt: Annotated[
        int | None,
        typer.Option("--attempt", "-a", help="that attempt (needs -e; -1 is the last)"),
    ] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the workers' logs: the latest attempt of every element, or one attempt."""
    ref_job, ref_element = parse_job_ref(job)
    element = ref_element if element is None else element
    if attempt is not None and element is None:
        usage("--attempt needs --element")
    with connect(server, token) as ctx:
        if element is None:
            outputs: list[haul.Output] = haul.get_job_output(ctx, ref_job)
        else:
            outputs = [haul.get_element_output(ctx, ref_job, element, attempt)]
    if json_out:
        emit_json(outputs if element is None else outputs[0])
        return
    for o in outputs:
        _print_output(o)
    if not outputs:
        out.print(f"job {ref_job} has no output yet")


@command
def watch(job: JobArg, server: ServerOpt = None, token: TokenOpt = None,
          json_out: JsonOpt = False) -> None:
    """Follow a job with progress bars until it ends; exits 1 unless it ends DONE."""
    with connect(server, token) as ctx:
        follow(ctx, _job_id(job), json_out)


def _leased(job: dict[str, Any]) -> int:
    return int(job.get("num_running") or 0) + int(job.get("num_submitted") or 0)


def _elements(n: int) -> str:
    return f"{n} running element{'s' if n != 1 else ''}"


def _show_verb(job: dict[str, Any], json_out: bool, verb: str, soft: bool = False) -> None:
    """Says what will happen next, not only the status the job has at this instant."""
    if json_out:
        emit_json(job)
        return
    job_id = job.get("id", job.get("jobid"))
    status = str(job.get("status"))
    leased = _leased(job)
    finished = status in TERMINAL
    if verb == "cancel":
        said = (f"job {job_id} cancelled" if finished or not leased else
                f"job {job_id} cancelling: queued files are cancelled; {_elements(leased)} "
                "will stop at their next heartbeat, then the job ends CANCELLED")
    elif verb == "finish":
        said = (f"job {job_id} finished: {status}" if finished or not leased else
                f"job {job_id} finishing: nothing new starts; {_elements(leased)} will "
                + ("complete" if soft else "stop at their next heartbeat")
                + ", then the job ends CANCELLED")
    elif verb == "pause":
        said = (f"job {job_id} paused: nothing new starts until `haul resume {job_id}`"
                + (f"; {_elements(leased)} will finish" if leased else ""))
    elif verb == "retry":
        said = f"job {job_id} retried: its failed and cancelled files are queued again ({status})"
    else:
        said = f"job {job_id} {verb}d: now {status}"
    out.print(said, markup=False, soft_wrap=True)


@command
def cancel(job: JobArg, server: ServerOpt = None, token: TokenOpt = None,
           json_out: JsonOpt = False) -> None:
    """Cancel a job: queued files now, running ones at their next heartbeat."""
    with connect(server, token) as ctx:
        _show_verb(dict(haul.cancel(ctx, _job_id(job))), json_out, "cancel")


@command
def finish(
    job: JobArg,
    soft: Annotated[bool, typer.Option("--soft", help="let running files complete")] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Finish a job early: nothing new starts; --soft lets running files complete."""
    with connect(server, token) as ctx:
        _show_verb(dict(haul.finish_task(ctx, _job_id(job), soft)), json_out, "finish", soft)


@command
def retry(
    job: JobArg,
    priority: Annotated[
        int | None, typer.Option("--priority", "-p", min=PRIORITY.low, max=PRIORITY.high)
    ] = None,
    max_tries: Annotated[int | None, typer.Option("--max-tries", min=MAX_TRIES.low)] = None,
    overwrite: Annotated[
        bool | None,
        typer.Option("--overwrite/--no-overwrite",
                     help="COPY/RENAME: replace what exists (retry EXISTS failures as a fix)"),
    ] = None,
    checksum: Annotated[
        str | None, typer.Option("--checksum", help="COPY: adler32, md5, sha256 or none")
    ] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Run a job's failed and cancelled files again, optionally with new settings."""
    params: dict[str, Any] = {
        k: v for k, v in (("priority", priority), ("max_tries", max_tries)) if v is not None
    }
    opts = {k: v for k, v in (("overwrite", overwrite), ("checksum", checksum)) if v is not None}
    if opts:
        params["extra_opts"] = opts  # merged into the job's options by the server
    with connect(server, token) as ctx:
        answer = haul.retry_task(ctx, _job_id(job), params or None)
    _show_verb(dict(answer), json_out, "retry")


@command
def pause(job: JobArg, server: ServerOpt = None, token: TokenOpt = None,
          json_out: JsonOpt = False) -> None:
    """Pause a job: no new files start; running ones finish."""
    with connect(server, token) as ctx:
        _show_verb(dict(haul.pause_task(ctx, _job_id(job))), json_out, "pause")


@command
def resume(job: JobArg, server: ServerOpt = None, token: TokenOpt = None,
           json_out: JsonOpt = False) -> None:
    """Resume a paused job."""
    with connect(server, token) as ctx:
        _show_verb(dict(haul.resume_task(ctx, _job_id(job))), json_out, "resume")


@command
def delete(job: JobArg, server: ServerOpt = None, token: TokenOpt = None,
           json_out: JsonOpt = False) -> None:
    """Delete a finished job with its logs."""
    job_id = _job_id(job)
    with connect(server, token) as ctx:
        answer = haul.delete_job(ctx, job_id)
    if json_out:
        emit_json(answer)
    else:
        out.print(f"job {job_id} deleted")


@command
def recover(
    job: JobArg,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="only list the files that would be copied again")
    ] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Check a COPY job's destinations and copy again the files that are missing or differ."""
    job_id = _job_id(job)
    with connect(server, token) as ctx:
        answer = haul.send_file_recovery_request(ctx, job_id, dry_run)
    if json_out:
        emit_json(answer)
        return
    differing = answer.get("differing") or []
    if dry_run:
        out.print(f"job {job_id}: checked {answer.get('checked', 0)} files (dry run); "
                  f"{len(differing)} missing or different"
                  + ("; run `haul recover " + str(job_id) + "` to copy them again"
                     if differing else ""), markup=False)
    else:
        out.print(f"job {job_id}: recovery requested ({answer.get('state')}); the files that "
                  f"are missing or differ are copied again: follow with `haul watch {job_id}`",
                  markup=False)
    for d in differing:
        out.print(f"  {d.get('dst_filepath')}: {d.get('reason')}", markup=False)
