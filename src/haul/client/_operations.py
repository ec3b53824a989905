"""Seed 000's shorthand routes, one per job type: ``list``, ``copy``, ``remove``, ...

They live in a module of their own because ``list`` shadows the builtin:
here nothing else needs the builtin by that name.
"""

from __future__ import annotations

import posixpath
from typing import Any, cast

from haul.client._context import WORKQUEUE, Context
from haul.client._jobs import new_copy, new_job
from haul.client._types import Job
from haul.domain.enums import JobType
from haul.protocol.submission_form import SubmissionBody, typed_route

__all__ = ["copy", "into_directory", "list", "mkdir", "remove", "rename"]


def into_directory(src_path: str, dst_path: str) -> str:
    """The destination a COPY means: a trailing ``/`` copies *into* that directory.

    ``copy data:/run1 archive:/2026/`` makes ``/2026/run1``, as rsync and
    rclone read a trailing slash; ``copy data:/run1 archive:/2026/run1``
    names the copy itself. The dashboard's "Into directory" field is the
    first form. Without a trailing slash the path is used as given.
    """
    if not dst_path.endswith("/"):
        return dst_path
    name = posixpath.basename(src_path.rstrip("/"))
    if not name or name in ("~", ".", ".."):
        return dst_path  # the source is a site's top: its contents go where asked
    return dst_path + name


def _post(ctx: Context, job_type: JobType, job: SubmissionBody) -> Job:
    """To the type's own route (seed 000's), whose type wins over the body's."""
    return cast(Job, ctx.post(WORKQUEUE + typed_route(job_type), job))


def list(
    ctx: Context,
    site: int,
    path: str,
    depth: int | None = None,
    *,
    priority: int | None = None,
    max_tries: int | None = None,
    metadata: dict[str, Any] | None = None,
    submission_id: str | None = None,
) -> Job:
    """Queues a listing of ``path`` (``depth`` levels; 0 = all) and answers the job.

    The listing itself arrives with the job's output once a worker ran it:
    ``wait`` for the job, then read ``get_job_output``.
    """
    opts = {"depth": depth} if depth is not None else None
    return _post(ctx, JobType.LIST, new_job(
        JobType.LIST.name, site, path, extra_opts=opts, priority=priority, max_tries=max_tries,
        metadata=metadata, submission_id=submission_id,
    ))


def copy(
    ctx: Context,
    src_site: int | str,
    src_path: str,
    dst_site: int,
    dst_path: str,
    *,
    overwrite: bool | None = None,
    checksum: str | None = None,
    verify: bool | None = None,
    priority: int | None = None,
    max_tries: int | None = None,
    metadata: dict[str, Any] | None = None,
    submission_id: str | None = None,
) -> Job:
    """Queues a copy of a file or a whole directory tree; ``src_site`` may be ``"upload"``.

    With ``src_site="upload"`` the source is a file id from `put_file` (name the
    destination file in full). A ``dst_path`` ending in ``/`` is a directory to
    copy into (`into_directory`).
    """
    if src_site != "upload":
        dst_path = into_directory(src_path, dst_path)
    return _post(ctx, JobType.COPY, new_copy(
        src_site, src_path, dst_site, dst_path, overwrite=overwrite, checksum=checksum,
        verify=verify, priority=priority, max_tries=max_tries, metadata=metadata,
        submission_id=submission_id,
    ))


def remove(
    ctx: Context,
    site: int,
    path: str,
    *,
    priority: int | None = None,
    max_tries: int | None = None,
    metadata: dict[str, Any] | None = None,
    submission_id: str | None = None,
) -> Job:
    """Queues removal of a file or a directory tree."""
    return _post(ctx, JobType.REMOVE, new_job(
        JobType.REMOVE.name, site, path, priority=priority, max_tries=max_tries, metadata=metadata,
        submission_id=submission_id,
    ))


def rename(
    ctx: Context,
    site: int,
    old_path: str,
    new_path: str,
    *,
    overwrite: bool | None = None,
    priority: int | None = None,
    max_tries: int | None = None,
    metadata: dict[str, Any] | None = None,
    submission_id: str | None = None,
) -> Job:
    """Queues a rename within one site (a rename never crosses sites)."""
    opts = {"overwrite": overwrite} if overwrite is not None else None
    return _post(ctx, JobType.RENAME, new_job(
        JobType.RENAME.name, site, old_path, site, new_path, extra_opts=opts, priority=priority,
        max_tries=max_tries, metadata=metadata, submission_id=submission_id,
    ))


def mkdir(
    ctx: Context,
    site: int,
    path: str,
    *,
    parents: bool | None = None,
    priority: int | None = None,
    max_tries: int | None = None,
    metadata: dict[str, Any] | None = None,
    submission_id: str | None = None,
) -> Job:
    """Queues creation of a directory (with its parents unless ``parents=False``)."""
    opts = {"parents": parents} if parents is not None else None
    return _post(ctx, JobType.MKDIR, new_job(
        JobType.MKDIR.name, site, path, extra_opts=opts, priority=priority, max_tries=max_tries,
        metadata=metadata, submission_id=submission_id,
    ))
