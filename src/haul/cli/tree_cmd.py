"""`haul list` and `haul remove`: the commands that show or delete a tree.

`haul list` waits for its LIST and prints an ls -l-like tree (human sizes;
``--bytes`` for exact counts) under ``SITE:PATH`` headers. `haul remove`
asks before it deletes (or needs ``--yes`` where nobody can answer), and
``--dry-run`` lists the whole tree instead, removing nothing.
"""

from __future__ import annotations

import posixpath
import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

import haul.client as haul
from haul.cli import file_lists
from haul.cli.failures import main_reason
from haul.cli.operations_cmd import (
    FilesOpt,
    MetadataOpt,
    PriorityOpt,
    SubmissionOpt,
    TriesOpt,
    WaitOpt,
    _metadata,
    report,
)
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
from haul.cli.targets import Sites, parse_target
from haul.client._wait import DONE

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
    if final.get("status") != DONE:
        reason = main_reason(ctx, final, sites)
        err.print(f"error: list job {job['id']} ended {final.get('status')}"
                  f"{': ' + reason if reason else ''}", markup=False)
        raise typer.Exit(1)
    if not json_out:
        print_tree(listing, exact, t.site)


def _listing_of(
    ctx: haul.Context, sites: Sites, site_id: int, path: str
) -> dict[str, list[dict[str, Any]]]:
    """The whole tree under ``path`` (a LIST job, waited for); fails if the LIST does."""
    job = haul.list(ctx, site_id, path, 0)
    final = haul.wait(ctx, int(job["id"]))
    outputs = haul.get_job_output(ctx, int(job["id"]))
    if final.get("status") != DONE:
        reason = main_reason(ctx, final, sites)
        raise Failed(f"list job {job['id']} ended {final.get('status')}"
                     f"{': ' + reason if reason else ''}")
    listing: dict[str, list[dict[str, Any]]] = {}
    for o in outputs:
        for directory, entries in (o.get("listing") or {}).items():
            listing.setdefault(directory, []).extend(entries)
    return listing


def _confirm(what: str, yes: bool) -> None:
    """Asks on a terminal; elsewhere removing needs --yes (exit 2 without it)."""
    if yes:
        return
    if not sys.stdin.isatty():
        usage(f"not removing {what} without confirmation: pass --yes "
              "(--dry-run shows what would go)")
    if not typer.confirm(f"remove {what}?", default=False, err=True):
        err.print("nothing removed")
        raise typer.Exit(1)


@command
def remove_cmd(
    target: Annotated[
        str, typer.Argument(metavar="SITE:PATH", help="file or directory (with --files: SITE)")
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="remove without asking")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list what would be removed; remove nothing")
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
    """Remove a file or a directory tree (asks first, unless --yes).

    With --files LIST, remove the paths LIST names (one per line): files or
    empty directories, nothing recursive.
    """
    if files is not None:
        site = file_lists.site_only(target, "SITE")
        listed = file_lists.read_paths(files)
        _confirm(f"the {len(listed)} paths listed in {files} from {site}", yes)
        with connect(server, token) as ctx:
            sites = Sites(ctx)
            body = haul.new_remove_files(
                sites.id_of(site), listed, priority=priority, max_tries=max_tries,
                metadata=_metadata(metadata), submission_id=submission_id,
            )
            report(ctx, haul.submit_job(ctx, body), sites, wait, json_out)
        return
    t = parse_target(target)
    with connect(server, token) as ctx:
        sites = Sites(ctx)
        if dry_run:
            listing = _listing_of(ctx, sites, sites.id_of(t.site), t.path)
            entries = [e for v in listing.values() for e in v]
            plain = [e for e in entries if not e.get("is_dir")]
            summary = {"would_remove": target, "files": len(plain),
                       "directories": len(entries) - len(plain),
                       "bytes": sum(int(e.get("size") or 0) for e in plain)}
            if json_out:
                emit_json(summary | {"listing": listing})
                return
            print_tree(listing)
            out.print(f"would remove {target}: {summary['files']} files and "
                      f"{summary['directories']} directories ({size(summary['bytes'])}); "
                      "nothing was removed", markup=False, soft_wrap=True)
            return
        _confirm(f"{target} and everything under it", yes)
        job = haul.remove(ctx, sites.id_of(t.site), t.path, priority=priority,
                          max_tries=max_tries, metadata=_metadata(metadata),
                          submission_id=submission_id)
        report(ctx, job, sites, wait, json_out)


