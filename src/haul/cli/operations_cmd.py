"""`haul list|copy|remove|rename|mkdir|put`: submit an operation on ``SITE:PATH`` arguments.

Each prints the id of the job it queued alone on stdout (what it is on
stderr), so ``JOB=$(haul copy ...)`` works; ``--wait`` follows it to its end with
progress bars on stderr and exits 1 unless it ended DONE. `haul list` always
waits (the listing is the point) unless told ``--no-wait``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

import haul.client as haul
from haul.cli import file_lists
from haul.cli.failures import main_reason
from haul.cli.output import (
    JsonOpt,
    ServerOpt,
    TokenOpt,
    command,
    connect,
    emit_json,
    err,
    out,
    size,
    usage,
)
from haul.cli.targets import UPLOAD, Sites, parse_target
from haul.client._wait import DONE, TERMINAL, snapshot
from haul.domain.enums import JobType
from haul.domain.limits import MAX_TRIES, PRIORITY

WaitOpt = Annotated[bool, typer.Option("--wait", "-w", help="follow the job until it ends")]
PriorityOpt = Annotated[
    int | None,
    typer.Option(
        "--priority",
        "-p",
        min=PRIORITY.low,
        max=PRIORITY.high,
        help=f"{PRIORITY.low} (most urgent) to {PRIORITY.high}",
    ),
]
TriesOpt = Annotated[
    int | None,
    typer.Option("--max-tries", min=MAX_TRIES.low, help="attempts per file before it fails"),
]
MetadataOpt = Annotated[
    str | None, typer.Option("--metadata", help="a JSON object kept with the job")
]
# Up to one page of elements, the final summary counts files exactly (not from job counts).
ELEMENT_PAGE = 10_000

SubmissionOpt = Annotated[
    str | None,
    typer.Option("--submission-id", help="an id of yours; resubmitting it returns the same job"),
]


def _metadata(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        usage(f"--metadata: not JSON ({exc})")
    if not isinstance(value, dict):
        usage("--metadata: must be a JSON object")
    return value


def describe(job: haul.Job, sites: Sites) -> str:
    src = sites.place(job.get("src_siteid"), job.get("src_filepath"))
    if job.get("type") in (JobType.COPY.name, JobType.RENAME.name):
        dst = sites.place(job.get("dst_siteid"), job.get("dst_filepath"))
        return f"{job.get('type')} {src} -> {dst}"
    return f"{job.get('type')} {src}"


def outcome(job: haul.Job, elements: list[haul.Element] | None = None) -> str:
    snap = snapshot(job, elements)
    files = f"{snap.files_done}/{snap.files_total} files done"
    if snap.files_failed:
        files += f", {snap.files_failed} failed"
    if job.get("num_cancelled"):
        files += f", {job.get('num_cancelled')} cancelled"
    if job.get("bytes_total"):
        files += f" · {size(job.get('bytes_done') or 0)} of {size(job.get('bytes_total'))}"
    if job.get("rate"):
        files += f" at {size(int(job['rate']))}/s"
    if job.get("eta_seconds") is not None and job.get("status") not in TERMINAL:
        files += f", about {int(job['eta_seconds'])} s left"
    return f"job {job.get('id')} {job.get('status')}: {files}"


def follow(ctx: haul.Context, job_id: int, json_out: bool) -> haul.Job:
    """Waits for the job (bars on stderr unless --json) and exits 1 unless it ended DONE."""
    try:
        final = haul.wait(ctx, job_id, progress=not json_out)
    except KeyboardInterrupt:
        err.print(f"interrupted: job {job_id} keeps running on the server; follow it with "
                  f"`haul watch {job_id}`, or stop it with `haul cancel {job_id}`", markup=False)
        raise typer.Exit(130) from None
    if json_out:
        emit_json(final)
    else:
        small = final.get("num_elements", 0) <= ELEMENT_PAGE
        elements = haul.get_job_elements(ctx, job_id, limit=ELEMENT_PAGE) if small else None
        out.print(outcome(final, elements), markup=False)
    if final.get("status") != DONE:
        reason = main_reason(ctx, final, Sites(ctx))
        err.print(f"error: job {job_id} ended {final.get('status')}"
                  f"{': ' + reason if reason else ''} (see `haul log {job_id}`)",
                  markup=False, soft_wrap=True)
        raise typer.Exit(1)
    return final


def report(ctx: haul.Context, job: haul.Job, sites: Sites, wait: bool, json_out: bool) -> None:
    if wait:
        if not json_out:
            err.print(f"job {job['id']} submitted: {describe(job, sites)}", markup=False)
        follow(ctx, int(job["id"]), json_out)
    elif json_out:
        emit_json(job)
    else:
        # The id alone on stdout, so JOB=$(haul copy ...) works; the note on stderr.
        err.print(f"job {job['id']} submitted: {describe(job, sites)}", markup=False)
        out.print(str(job["id"]), markup=False)


# ------------------------------------------------------------ submitting


FilesOpt = Annotated[
    str | None,
    typer.Option(
        "--files",
        metavar="LIST",
        help="a file of the paths to work on, one per line ('-': stdin); the sites are named alone",
    ),
]


@command
def copy_cmd(
    source: Annotated[
        str, typer.Argument(metavar="SRC", help="SITE:PATH to copy from (with --files: SITE)")
    ],
    destination: Annotated[
        str, typer.Argument(metavar="DST", help="SITE:PATH to copy to; SITE:DIR/ copies into "
                            "DIR (with --files: SITE)")
    ],
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace existing files")] = False,
    checksum: Annotated[
        str | None, typer.Option("--checksum", help="adler32, md5, sha256 or none")
    ] = None,
    no_verify: Annotated[
        bool, typer.Option("--no-verify", help="do not compare checksums after copying")
    ] = False,
    priority: PriorityOpt = None,
    max_tries: TriesOpt = None,
    metadata: MetadataOpt = None,
    submission_id: SubmissionOpt = None,
    files: FilesOpt = None,
    wait: WaitOpt = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Copy a file or a directory tree from one site to another.

    With --files LIST, copy the files LIST names instead: one SRC<TAB>DST pair
    per line, with an optional third column ALGO:HEX that the source must match.
    """
    if files is not None:
        src_site = file_lists.site_only(source, "SRC")
        dst_site = file_lists.site_only(destination, "DST")
        listed = file_lists.read_pairs(files)
        with connect(server, token) as ctx:
            sites = Sites(ctx)
            body = haul.new_copy_files(
                sites.id_of(src_site), sites.id_of(dst_site), listed,
                overwrite=overwrite or None, checksum=checksum,
                verify=False if no_verify else None, priority=priority, max_tries=max_tries,
                metadata=_metadata(metadata), submission_id=submission_id,
            )
            report(ctx, haul.submit_job(ctx, body), sites, wait, json_out)
        return
    src, dst = parse_target(source, "SRC"), parse_target(destination, "DST")
    with connect(server, token) as ctx:
        sites = Sites(ctx)
        job = haul.copy(
            ctx, sites.id_of(src.site), src.path, sites.id_of(dst.site), dst.path,
            overwrite=overwrite or None, checksum=checksum, verify=False if no_verify else None,
            priority=priority, max_tries=max_tries, metadata=_metadata(metadata),
            submission_id=submission_id,
        )
        report(ctx, job, sites, wait, json_out)


@command
def rename_cmd(
    target: Annotated[str, typer.Argument(metavar="SITE:OLD", help="what to rename")],
    new: Annotated[str, typer.Argument(metavar="NEW", help="new path on the same site")],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="replace NEW if it exists")
    ] = False,
    priority: PriorityOpt = None,
    max_tries: TriesOpt = None,
    metadata: MetadataOpt = None,
    submission_id: SubmissionOpt = None,
    wait: WaitOpt = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Rename (move) a file or directory within its site."""
    t = parse_target(target)
    site_part, sep, rest = new.partition(":")
    if sep and site_part == t.site:
        new = rest
    with connect(server, token) as ctx:
        sites = Sites(ctx)
        job = haul.rename(ctx, sites.id_of(t.site), t.path, new, overwrite=overwrite or None,
                          priority=priority, max_tries=max_tries, metadata=_metadata(metadata),
                          submission_id=submission_id)
        report(ctx, job, sites, wait, json_out)


@command
def mkdir_cmd(
    target: Annotated[str, typer.Argument(metavar="SITE:PATH", help="directory to create")],
    no_parents: Annotated[
        bool, typer.Option("--no-parents", help="fail if the parent does not exist")
    ] = False,
    priority: PriorityOpt = None,
    max_tries: TriesOpt = None,
    metadata: MetadataOpt = None,
    submission_id: SubmissionOpt = None,
    wait: WaitOpt = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a directory (and its parents)."""
    t = parse_target(target)
    with connect(server, token) as ctx:
        sites = Sites(ctx)
        job = haul.mkdir(ctx, sites.id_of(t.site), t.path, parents=False if no_parents else None,
                         priority=priority, max_tries=max_tries, metadata=_metadata(metadata),
                         submission_id=submission_id)
        report(ctx, job, sites, wait, json_out)


@command
def put_cmd(
    local: Annotated[
        Path, typer.Argument(metavar="LOCALFILE", exists=True, dir_okay=False, help="file to send")
    ],
    destination: Annotated[str, typer.Argument(metavar="SITE:PATH", help="where it goes")],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="replace an existing file")
    ] = False,
    wait: WaitOpt = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Upload a small local file (at most 10 MB) to the server, then copy it to a site."""
    dst = parse_target(destination, "SITE:PATH")
    with connect(server, token) as ctx:
        sites = Sites(ctx)
        dst_id = sites.id_of(dst.site)
        upload = haul.put_file(ctx, local)
        if not json_out:
            err.print(f"uploaded {local.name} ({upload.get('size')} bytes, "
                      f"checksum {upload.get('checksum')})", markup=False)
        # SITE:DIR/ puts the file into DIR under its own name (haul copy's rule).
        dst_path = dst.path + local.name if dst.path.endswith("/") else dst.path
        job = haul.copy(ctx, UPLOAD, str(upload["id"]), dst_id, dst_path,
                        overwrite=overwrite or None)
        report(ctx, job, sites, wait, json_out)
