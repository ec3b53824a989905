"""`haul list|copy|remove|rename|mkdir|put`: submit an operation on ``SITE:PATH`` arguments.

Each prints the id of the job it queued alone on stdout (what it is on
stderr), so ``JOB=$(haul copy ...)`` works; ``--wait`` follows it to its end with
progress bars on stderr and exits 1 unless it ended DONE. `haul list` always
waits (the listing is the point) unless told ``--no-wait``.
"""

from __future__ import annotations

import json
import posixpath
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

import haul.client as haul
from haul.cli.failures import main_reason
from haul.cli.output import (
    Failed,
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
from haul.client._wait import snapshot

WaitOpt = Annotated[bool, typer.Option("--wait", "-w", help="follow the job until it ends")]
PriorityOpt = Annotated[
    int | None, typer.Option("--priority", "-p", min=0, max=9, help="0 (most urgent) to 9")
]
TriesOpt = Annotated[
    int | None, typer.Option("--max-tries", min=1, help="attempts per file before it fails")
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
    if job.get("type") in ("COPY", "RENAME"):
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
    if job.get("eta_seconds") is not None and job.get("status") not in ("DONE", "FAILED",
                                                                         "CANCELLED"):
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
    if final.get("status") != "DONE":
        reason = main_reason(ctx, final, Sites(ctx))
        err.print(f"error: job {job_id} ended {final.get('status')}"
                  f"{': ' + reason if reason else ''} (see `haul log {job_id}`)", markup=False)
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


# ------------------------------------------------------------------ list


def _entry_line(entry: dict[str, Any], indent: int, exact: bool = False) -> str:
    is_dir = bool(entry.get("is_dir"))
    mtime = entry.get("mtime")
    when = (datetime.fromtimestamp(mtime, UTC).strftime("%Y-%m-%d %H:%M")
            if isinstance(mtime, int | float) else "-               ")
    n = int(entry.get("size", 0) or 0)
    shown = "-" if is_dir else (str(n) if exact else size(n))
    name = str(entry.get("name", "")) + ("/" if is_dir else "")
    return f"{'d' if is_dir else '-'} {shown:>14} {when}  {'  ' * indent}{name}"


def print_tree(
    listing: dict[str, list[dict[str, Any]]], exact: bool = False, site: str | None = None
) -> None:
    """ls -l columns, with each listed subdirectory's entries indented under it.

    Each top directory is headed ``SITE:PATH``; the site's default path (an
    empty path, or ``~``) is named as such rather than as a bare ``~``.
    """
    children = {
        posixpath.join(d, str(e.get("name"))) for d, entries in listing.items() for e in entries
    }
    roots = [d for d in listing if d not in children]

    def show(directory: str, indent: int) -> None:
        for entry in sorted(listing.get(directory, []), key=lambda e: str(e.get("name"))):
            out.print(_entry_line(entry, indent, exact), markup=False, highlight=False)
            sub = posixpath.join(directory, str(entry.get("name")))
            if entry.get("is_dir") and sub in listing:
                show(sub, indent + 1)

    for root in roots:
        total = sum(int(e.get("size", 0) or 0) for e in listing[root] if not e.get("is_dir"))
        amount = f"{total} bytes" if exact else size(total)
        where = root if root not in ("", "~") else "~ (the site's default path)"
        shown = f"{site}:{where}" if site else where
        out.print(f"{shown}:  ({len(listing[root])} entries, {amount})", markup=False)
        show(root, 0)


@command
def list_cmd(
    target: Annotated[str, typer.Argument(metavar="SITE:PATH", help="what to list")],
    depth: Annotated[
        int | None, typer.Option("--depth", "-d", min=0, help="levels to list; 0 = all")
    ] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="only submit; read it later with `haul log`")
    ] = False,
    exact: Annotated[
        bool, typer.Option("--bytes", help="sizes in bytes (default: kB, MB, GB)")
    ] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List a directory on a site (waits, then prints an ls -l-like tree)."""
    t = parse_target(target)
    with connect(server, token) as ctx:
        sites = Sites(ctx)
        job = haul.list(ctx, sites.id_of(t.site), t.path, depth)
        if no_wait:
            report(ctx, job, sites, False, json_out)
            return
        final = haul.wait(ctx, int(job["id"]))
        outputs = haul.get_job_output(ctx, int(job["id"]))
    listing: dict[str, list[dict[str, Any]]] = {}
    for o in outputs:
        for directory, entries in (o.get("listing") or {}).items():
            listing.setdefault(directory, []).extend(entries)
    if json_out:
        emit_json({"job": final, "listing": listing})
    if final.get("status") != "DONE":
        reason = main_reason(ctx, final, sites)
        err.print(f"error: list job {job['id']} ended {final.get('status')}"
                  f"{': ' + reason if reason else ''}", markup=False)
        raise typer.Exit(1)
    if not json_out:
        print_tree(listing, exact, t.site)


# ------------------------------------------------------------ submitting


@command
def copy_cmd(
    source: Annotated[str, typer.Argument(metavar="SRC", help="SITE:PATH to copy from")],
    destination: Annotated[
        str, typer.Argument(metavar="DST", help="SITE:PATH to copy to; SITE:DIR/ copies into DIR")
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
    wait: WaitOpt = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Copy a file or a directory tree from one site to another."""
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


def _listing_of(
    ctx: haul.Context, sites: Sites, site_id: int, path: str
) -> dict[str, list[dict[str, Any]]]:
    """The whole tree under ``path`` (a LIST job, waited for); fails if the LIST does."""
    job = haul.list(ctx, site_id, path, 0)
    final = haul.wait(ctx, int(job["id"]))
    outputs = haul.get_job_output(ctx, int(job["id"]))
    if final.get("status") != "DONE":
        reason = main_reason(ctx, final, sites)
        raise Failed(f"list job {job['id']} ended {final.get('status')}"
                     f"{': ' + reason if reason else ''}")
    listing: dict[str, list[dict[str, Any]]] = {}
    for o in outputs:
        for directory, entries in (o.get("listing") or {}).items():
            listing.setdefault(directory, []).extend(entries)
    return listing


@command
def remove_cmd(
    target: Annotated[str, typer.Argument(metavar="SITE:PATH", help="file or directory")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="remove without asking")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list what would be removed; remove nothing")
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
    """Remove a file or a directory tree (asks first, unless --yes)."""
    t = parse_target(target)
    with connect(server, token) as ctx:
        sites = Sites(ctx)
        if dry_run:
            listing = _listing_of(ctx, sites, sites.id_of(t.site), t.path)
            entries = [e for v in listing.values() for e in v]
            files = [e for e in entries if not e.get("is_dir")]
            summary = {"would_remove": target, "files": len(files),
                       "directories": len(entries) - len(files),
                       "bytes": sum(int(e.get("size") or 0) for e in files)}
            if json_out:
                emit_json(summary | {"listing": listing})
                return
            print_tree(listing)
            out.print(f"would remove {target}: {summary['files']} files and "
                      f"{summary['directories']} directories ({size(summary['bytes'])}); "
                      "nothing was removed", markup=False)
            return
        if not yes:
            if not sys.stdin.isatty():
                usage(f"not removing {target} without confirmation: pass --yes "
                      "(--dry-run shows what would go)")
            if not typer.confirm(f"remove {target} and everything under it?", default=False,
                                 err=True):
                err.print("nothing removed")
                raise typer.Exit(1)
        job = haul.remove(ctx, sites.id_of(t.site), t.path, priority=priority,
                          max_tries=max_tries, metadata=_metadata(metadata),
                          submission_id=submission_id)
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
