"""Reading the file lists of `haul copy --files` and `haul remove --files`.

A pipeline that knows its files writes them one per line, the way `cut`,
`find` or a catalogue query produce them: for a copy ``SRC<TAB>DST`` with an
optional third column ``ALGO:HEX`` (the checksum the source must match); for
a remove one path per line. Blank lines and lines starting with ``#`` are
skipped; ``-`` reads standard input. A bad line is a usage error naming its
number, before anything is sent.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from haul.cli.output import usage


def _lines(source: str) -> Iterator[tuple[int, str]]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        usage(f"--files: cannot read {source}: {exc}")
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip("\r")
        if line.strip() and not line.lstrip().startswith("#"):
            yield n, line


def read_pairs(source: str) -> list[dict[str, Any]]:
    """``SRC<TAB>DST[<TAB>ALGO:HEX]`` per line, as the API's ``files`` entries."""
    files: list[dict[str, Any]] = []
    for n, line in _lines(source):
        cols = line.split("\t")
        if len(cols) not in (2, 3) or not cols[0] or not cols[1]:
            usage(f"--files {source}, line {n}: expected SRC<TAB>DST[<TAB>ALGO:HEX]")
        entry: dict[str, Any] = {"src_filepath": cols[0], "dst_filepath": cols[1]}
        if len(cols) == 3 and cols[2].strip():
            entry["checksum"] = cols[2].strip()
        files.append(entry)
    if not files:
        usage(f"--files {source}: lists no files")
    return files


def read_paths(source: str) -> list[dict[str, Any]]:
    """One path per line, as the API's ``files`` entries of a REMOVE."""
    files = [{"src_filepath": line.strip()} for _, line in _lines(source)]
    if not files:
        usage(f"--files {source}: lists no paths")
    return files


def site_only(argument: str, what: str) -> str:
    """With ``--files`` a site is named alone (``SITE`` or ``SITE:``); paths come from the list."""
    site, sep, path = argument.partition(":")
    if sep and path:
        usage(f"{what}: with --files give the site alone ({site}), the paths come from the list")
    return site
