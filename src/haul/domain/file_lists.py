"""The files a COPY or REMOVE lists (FTS3-style ``files``), checked one by one.

A pipeline that knows its files sends them in one job rather than one job
per file. Each listed file becomes one element, in the order given, and what
it says it is (``checksum``, ``filesize``) is what the source must match.

Pure and streaming: ``parse`` yields one checked item at a time, so a
100,000-file request is turned into element rows in batches without a second
copy of the list in memory. Every refusal names the index and the field, as
``files[12].checksum: ...``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from haul.domain.limits import MAX_FILE_METADATA_BYTES, MAX_FILES_PER_JOB, MAX_REPLICAS
from haul.domain.paths import PathError, validate_submitted_path

# Algorithm -> hex digits of its value (adler32 may be given without leading zeros).
CHECKSUM_DIGITS = {"adler32": 8, "md5": 32, "sha256": 64}
_HEX = re.compile(r"[0-9a-f]+")


class FileListError(ValueError):
    """Bad input in ``files``: the message names the index and the field."""


class TooManyFiles(FileListError):
    """More files than one job may list (413, not 400: the request is too large)."""


@dataclass(frozen=True)
class ListedFile:
    src_filepath: str
    dst_filepath: str | None
    checksum: str | None  # "algo:hex", normalised
    filesize: int | None
    metadata: dict[str, Any] | None
    # Other replicas of the source, tried in order when the one before fails
    # with a SOURCE error: (site id, path) pairs.
    sources: tuple[tuple[int, str], ...] = ()

    def expectation(self) -> dict[str, Any] | None:
        """What the worker checks the source against, or None."""
        out: dict[str, Any] = {}
        if self.checksum is not None:
            out["checksum"] = self.checksum
        if self.filesize is not None:
            out["filesize"] = self.filesize
        return out or None


def parse_checksum(value: Any, where: str) -> str:
    """``"ALGO:HEX"`` in its canonical form (lower case; adler32 padded to 8 digits)."""
    if not isinstance(value, str) or ":" not in value:
        raise FileListError(f"{where}: must be 'ALGO:HEX', e.g. 'adler32:0a1b2c3d'")
    algo, _, digits = value.partition(":")
    algo, digits = algo.strip().lower().replace("-", ""), digits.strip().lower()
    if algo not in CHECKSUM_DIGITS:
        known = ", ".join(CHECKSUM_DIGITS)
        raise FileListError(f"{where}: unknown algorithm {algo!r} (use one of {known})")
    width = CHECKSUM_DIGITS[algo]
    if algo == "adler32":
        digits = digits.removeprefix("0x").rjust(width, "0")
    if len(digits) != width or not _HEX.fullmatch(digits):
        raise FileListError(f"{where}: {algo} takes {width} hex digits, not {value!r}")
    return f"{algo}:{digits}"


def _path(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if value is None:
        raise FileListError(f"{where}.{key}: field required")
    if not isinstance(value, str):
        raise FileListError(f"{where}.{key}: must be a string")
    try:
        return validate_submitted_path(value, f"{where}.{key}")
    except PathError as exc:
        raise FileListError(str(exc)) from exc


def _filesize(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FileListError(f"{where}.filesize: must be a whole number of bytes, 0 or more")
    return value


def _metadata(value: Any, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise FileListError(f"{where}.metadata: must be an object")
    if len(json.dumps(value)) > MAX_FILE_METADATA_BYTES:
        raise FileListError(
            f"{where}.metadata: at most {MAX_FILE_METADATA_BYTES} bytes of JSON per file"
        )
    return value


def _sources(value: Any, where: str) -> tuple[tuple[int, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise FileListError(f"{where}.sources: must be a non-empty list of {{siteid, filepath}}")
    if len(value) > MAX_REPLICAS:
        raise FileListError(f"{where}.sources: at most {MAX_REPLICAS} alternative replicas")
    out = []
    for j, replica in enumerate(value):
        at = f"{where}.sources[{j}]"
        if not isinstance(replica, dict):
            raise FileListError(f"{at}: must be an object with siteid and filepath")
        site = replica.get("siteid")
        if isinstance(site, bool) or not isinstance(site, int) or site < 0:
            raise FileListError(f"{at}.siteid: must be a site id")
        out.append((site, _path(replica, "filepath", at)))
    return tuple(out)


def check_count(files: Any) -> int:
    if not isinstance(files, list):
        raise FileListError("files: must be a list of {src_filepath, ...} objects")
    if not files:
        raise FileListError("files: the list is empty; list at least one file")
    if len(files) > MAX_FILES_PER_JOB:
        raise TooManyFiles(
            f"files: {len(files)} files in one job; at most {MAX_FILES_PER_JOB} are allowed "
            "(split the list over several jobs)"
        )
    return len(files)


def parse(files: Any, *, copy: bool) -> Iterator[ListedFile]:
    """Each file checked, in order. ``copy``: a COPY (needs destinations); else a REMOVE."""
    check_count(files)
    seen: set[str] = set()  # destinations (COPY) or targets (REMOVE): each once
    for i, item in enumerate(files):
        where = f"files[{i}]"
        if not isinstance(item, dict):
            raise FileListError(f"{where}: must be an object with src_filepath")
        src = _path(item, "src_filepath", where)
        dst = _path(item, "dst_filepath", where) if copy else None
        if not copy:
            for key in ("dst_filepath", "checksum", "filesize", "sources"):
                if item.get(key) is not None:
                    raise FileListError(f"{where}.{key}: a REMOVE lists only src_filepath")
        sources = _sources(item.get("sources"), where) if copy else ()
        target = dst if dst is not None else src
        if target in seen:
            what = "destination" if copy else "path"
            raise FileListError(f"{where}: two files have the same {what} {target!r}")
        seen.add(target)
        checksum = item.get("checksum")
        yield ListedFile(
            src_filepath=src,
            dst_filepath=dst,
            checksum=None if checksum is None else parse_checksum(checksum, f"{where}.checksum"),
            filesize=_filesize(item.get("filesize"), where),
            metadata=_metadata(item.get("metadata"), where),
            sources=sources,
        )
