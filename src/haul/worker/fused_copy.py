"""A one-file COPY's file copied within its LIST's lease (services/fused_copy.py).

When the server offers it (``fuse_copy`` on the LIST's lease element) and
the LIST finds that the job's source is one file of at most ``MAX_BYTES``
(``haul worker --fuse-max-bytes``), the worker copies it at once, as
element 1 would be copied, and reports that result nested in the LIST's
(``file``): one claim and one report per one-file job instead of two each.
Larger files go the usual way, so a long copy never holds the namespace
lane's thread that LISTs run on.

Element 1 carries the LIST's attempt numbers, so a LIST that runs again
after a lost lease recognises a copy its earlier attempt already published
(``own_work``) rather than failing on an existing destination.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from haul.domain.enums import JobType
from haul.domain.expansion import strip_slash

if TYPE_CHECKING:
    # Running pulls in the storage backends and the wire models; `haul --help` and
    # every CLI command import this module for MAX_BYTES alone.
    from haul.worker.running import Running

OFFER = "fuse_copy"
FILE_ID = 1
# A file this small copies in well under the second within which every
# running element shows its bytes (loop.PROGRESS_SECONDS): element 1 does
# not exist until the LIST's report, so a longer copy would run unseen
# (its bytes show on the LIST meanwhile). Larger files are claimed alone.
MAX_BYTES = 1024 * 1024
_IDS = ("jobid", "elementid")


def wanted(run: Running, listed: dict[str, Any], max_bytes: int) -> bool:
    """Whether this LIST's result should carry its file's copy."""
    e = run.element
    size = listed.get("size")
    return (
        bool(e.get(OFFER))
        and e.get("id") == 0
        and run.job.get("type") == JobType.COPY.name
        and run.job.get("dst_filepath") is not None
        and size is not None
        and 0 <= int(size) <= max_bytes
        and not run.cancel.is_set()
    )


def file_element(run: Running, size: int) -> dict[str, Any]:
    """Element 1 as the expansion will plan it (domain/expansion.py, the file case)."""
    e, job = run.element, run.job
    return {
        "id": FILE_ID,
        "job_id": e["job_id"],
        "type": JobType.COPY.name,
        "src_filepath": strip_slash(job["src_filepath"] or ""),
        "dst_filepath": strip_slash(job["dst_filepath"]),
        "size": size,
        "attempts": e.get("attempts", 0),
        "attempt_seq": e.get("attempt_seq", 0),
        "max_tries": e.get("max_tries"),
        "depth": None,
        "mode": None,
        "expect": None,
        "sources": None,
        "token": e["token"],
        "lease_expires": e.get("lease_expires"),
    }


def copy_listed(
    run: Running,
    listed: dict[str, Any],
    execute: Callable[[Running, Callable[[Running], None]], dict[str, Any]],
    max_bytes: int = MAX_BYTES,
) -> dict[str, Any]:
    """``listed`` with ``file``: the copy's result, when the server offered it
    and the file is at most ``max_bytes`` (negative: never)."""
    if not wanted(run, listed, max_bytes):
        return listed
    sub = type(run)(run.job, file_element(run, int(listed["size"])), cancel=run.cancel)

    def progress(s: Running) -> None:
        run.progress = s.progress  # the LIST's heartbeats carry the copy's bytes

    result = execute(sub, progress)
    return {**listed, "file": {k: v for k, v in result.items() if k not in _IDS}}
