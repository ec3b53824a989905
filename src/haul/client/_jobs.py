"""Reading jobs and submitting them: seed 003's status calls and seed 002's task getters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from haul.client._context import USERS, WORKQUEUE, Context
from haul.client._exceptions import NotFound
from haul.client._types import Element, Job, Output, WhoAmI
from haul.domain.enums import JobType
from haul.protocol.submission_form import SUBMIT_ROUTE, SubmissionBody, with_defaults_left_out

__all__ = [
    "get_element",
    "get_element_output",
    "get_job",
    "get_job_elements",
    "get_job_ids",
    "get_job_output",
    "get_job_status",
    "get_jobs_statuses",
    "get_task_params",
    "get_task_status",
    "get_user_job_metadata",
    "hello",
    "list_jobs",
    "login",
    "new_copy",
    "new_job",
    "submit",
    "whoami",
]

ELEMENT_PAGE = 10_000
JOB_TYPES = tuple(t.name for t in JobType)


def hello(ctx: Context) -> dict[str, Any]:
    """Health check that needs no token, so it tells "server down" apart from "token bad"."""
    return cast(dict[str, Any], ctx.get("/hello"))


def whoami(ctx: Context) -> WhoAmI:
    """How the server sees the token: user, roles, and the sites it holds credentials for."""
    return cast(WhoAmI, ctx.get("/whoami"))


def login(ctx: Context, email: str, password: str, lifetime: int | None = None) -> dict[str, Any]:
    """Trades an email and password for a token; the context itself needs no token for it."""
    body: dict[str, Any] = {"email": email, "passwd": password}
    if lifetime is not None:
        body["lifetime"] = lifetime
    return cast(dict[str, Any], ctx.post(f"{USERS}/login", body))


def list_jobs(
    ctx: Context,
    status: str | list[str] | None = None,
    type: str | list[str] | None = None,
    *,
    limit: int = 100,
    offset: int = 0,
    all: bool = False,
    user_id: int | None = None,
    started: str | None = None,
    ended: str | None = None,
) -> list[Job]:
    """The caller's jobs, newest first, filtered by status and type (each repeatable).

    ``all``/``user_id`` let an admin see other users' jobs; ``started`` and
    ``ended`` take ISO-8601 datetimes or durations such as ``PT3H``.
    """
    params: list[tuple[str, Any]] = [("limit", limit), ("offset", offset)]
    for name, value in (("status", status), ("type", type)):
        values = [value] if isinstance(value, str) else (value or [])
        params += [(name, v) for v in values]
    if all:
        params.append(("all", "true"))
    for name, extra in (("user_id", user_id), ("started", started), ("ended", ended)):
        if extra is not None:
            params.append((name, extra))
    return cast(list[Job], ctx.request("GET", f"{WORKQUEUE}/jobs", params=params).json_body())


def get_job(ctx: Context, job_id: int) -> Job:
    return cast(Job, ctx.get(f"{WORKQUEUE}/jobs/{job_id}"))


def get_job_status(ctx: Context, job_id: int, list_files: bool = False) -> Job:
    """One job with its counts and, with ``list_files``, its elements under ``elements``.

    Goes through ``/statuses`` so that the job and its elements come from one
    call and so agree with each other.
    """
    if not list_files:
        return get_job(ctx, job_id)
    [entry] = get_jobs_statuses(ctx, [job_id], list_files=True)
    if entry.get("status") == "NOT_FOUND":
        raise NotFound(str(entry.get("detail", f"job {job_id}: no such job")),
                       status_code=404, detail=str(entry.get("detail", "")))
    return entry


def get_jobs_statuses(ctx: Context, job_ids: list[int], list_files: bool = False) -> list[Job]:
    """Many jobs at once; ids that are not the caller's come back with status NOT_FOUND."""
    body = {"ids": [int(i) for i in job_ids], "list_files": list_files}
    return cast(list[Job], ctx.post(f"{WORKQUEUE}/statuses", body))


def get_task_status(ctx: Context, job_id: int) -> str:
    """Only the status name (seed 002's getTaskStatus): the cheapest way to poll."""
    return str(ctx.get(f"{WORKQUEUE}/jobs/{job_id}/status")["status"])


def get_task_params(ctx: Context, job_id: int) -> dict[str, Any]:
    """The submission exactly as given (seed 002's taskParamsMap), to resubmit or audit it."""
    return cast(dict[str, Any], ctx.get(f"{WORKQUEUE}/jobs/{job_id}/params")["params"])


def get_user_job_metadata(ctx: Context, job_id: int) -> dict[str, Any] | None:
    """The ``metadata`` object the user attached at submission, or None."""
    return cast(dict[str, Any] | None, ctx.get(f"{WORKQUEUE}/jobs/{job_id}/params")["metadata"])


def get_job_elements(ctx: Context, job_id: int, *, limit: int = 1000,
                     offset: int = 0) -> list[Element]:
    return cast(list[Element], ctx.get(f"{WORKQUEUE}/jobs/{job_id}/elements",
                                       limit=limit, offset=offset))


def all_elements(ctx: Context, job_id: int) -> list[Element]:
    """Every element, page by page: one call unless the job has more than a page."""
    out: list[Element] = []
    while True:
        resp = ctx.request("GET", f"{WORKQUEUE}/jobs/{job_id}/elements",
                           params={"limit": ELEMENT_PAGE, "offset": len(out)})
        page = cast(list[Element], resp.json_body())
        out += page
        total = int(resp.headers.get("X-Total-Count", len(out)))
        if not page or len(out) >= total:
            return out


def get_job_ids(ctx: Context, job_id: int) -> list[int]:
    """Element ids of a job (seed 002's getPandaIDsWithTaskID), for kill_jobs and commands."""
    return [e["id"] for e in all_elements(ctx, job_id)]


def get_element(ctx: Context, job_id: int, element_id: int) -> Element:
    return cast(Element, ctx.get(f"{WORKQUEUE}/jobs/{job_id}/elements/{element_id}"))


def get_job_errors(ctx: Context, job_id: int) -> list[dict[str, Any]]:
    """The job's failed elements by error code, most frequent first:
    ``[{"code", "count", "example_path", "example_element", "message"}]``."""
    return cast(list[dict[str, Any]], ctx.get(f"{WORKQUEUE}/jobs/{job_id}/errors"))


def get_job_output(ctx: Context, job_id: int) -> list[Output]:
    """The latest attempt's log of every element that has run (LIST ones carry the listing)."""
    return cast(list[Output], ctx.get(f"{WORKQUEUE}/jobs/{job_id}/output"))


def get_element_output(ctx: Context, job_id: int, element_id: int,
                       attempt: int | None = None) -> Output:
    """One element's log: the latest attempt, or ``attempt`` (negative counts from the end)."""
    path = f"{WORKQUEUE}/jobs/{job_id}/elements/{element_id}/output"
    if attempt is not None:
        path += f"/{attempt}"
    return cast(Output, ctx.get(path))


def new_job(
    type: str | int,
    src_siteid: int | str,
    src_filepath: str,
    dst_siteid: int | str | None = None,
    dst_filepath: str | None = None,
    *,
    extra_opts: dict[str, Any] | None = None,
    priority: int | None = None,
    max_tries: int | None = None,
    protocol: str | int | None = None,
    metadata: dict[str, Any] | None = None,
    submission_id: str | None = None,
) -> SubmissionBody:
    """A job description for `submit`, built offline so it can be inspected, stored or reused.

    Fields left as None are left out, so the server's defaults apply.
    """
    if isinstance(type, str):
        type = type.upper()
    job = SubmissionBody(type=type, src_siteid=src_siteid, src_filepath=src_filepath)
    optional = SubmissionBody(
        dst_siteid=dst_siteid,
        dst_filepath=dst_filepath,
        extra_opts=extra_opts,
        priority=priority,
        max_tries=max_tries,
        protocol=protocol,
        metadata=metadata,
        submission_id=submission_id,
    )
    with_defaults_left_out(job, optional)
    return job


def new_copy(
    src_siteid: int | str,
    src_filepath: str,
    dst_siteid: int | str,
    dst_filepath: str,
    *,
    overwrite: bool | None = None,
    checksum: str | None = None,
    verify: bool | None = None,
    priority: int | None = None,
    max_tries: int | None = None,
    metadata: dict[str, Any] | None = None,
    submission_id: str | None = None,
) -> SubmissionBody:
    """A COPY description: the common case, with its options as arguments instead of a dict."""
    opts = {"overwrite": overwrite, "checksum": checksum, "verify": verify}
    return new_job(
        JobType.COPY.name, src_siteid, src_filepath, dst_siteid, dst_filepath,
        extra_opts={k: v for k, v in opts.items() if v is not None} or None,
        priority=priority, max_tries=max_tries, metadata=metadata, submission_id=submission_id,
    )


FileLike = dict[str, Any] | Sequence[Any] | str


def _listed(item: FileLike, i: int, *, copy: bool) -> dict[str, Any]:
    """One ``files`` entry from a dict, a (src, dst[, checksum]) tuple, or (REMOVE) a path."""
    if isinstance(item, dict):
        return item
    if isinstance(item, str):
        if copy:
            raise ValueError(f"files[{i}]: a COPY lists (src, dst) pairs, not one path")
        return {"src_filepath": item}
    parts = list(item)
    if copy and len(parts) in (2, 3):
        out = {"src_filepath": parts[0], "dst_filepath": parts[1]}
        if len(parts) == 3 and parts[2]:
            out["checksum"] = parts[2]
        return out
    raise ValueError(f"files[{i}]: expected (src, dst) or (src, dst, checksum), got {item!r}")


def new_copy_files(
    src_siteid: int | str,
    dst_siteid: int | str,
    files: Iterable[FileLike],
    *,
    overwrite: bool | None = None,
    checksum: str | None = None,
    verify: bool | None = None,
    priority: int | None = None,
    max_tries: int | None = None,
    metadata: dict[str, Any] | None = None,
    submission_id: str | None = None,
) -> SubmissionBody:
    """A COPY of the files listed (FTS3-style): one element per file, no LIST.

    Each file is ``{"src_filepath", "dst_filepath", "checksum"?, "filesize"?,
    "metadata"?}`` or a ``(src, dst)`` / ``(src, dst, "ALGO:HEX")`` tuple. A
    file's checksum and size are what its source must match.
    """
    job = new_copy(
        src_siteid, "", dst_siteid, "", overwrite=overwrite, checksum=checksum, verify=verify,
        priority=priority, max_tries=max_tries, metadata=metadata, submission_id=submission_id,
    )
    del job["src_filepath"], job["dst_filepath"]
    job["files"] = [_listed(f, i, copy=True) for i, f in enumerate(files)]
    return job


def new_remove_files(
    siteid: int | str,
    files: Iterable[FileLike],
    *,
    priority: int | None = None,
    max_tries: int | None = None,
    metadata: dict[str, Any] | None = None,
    submission_id: str | None = None,
) -> SubmissionBody:
    """A REMOVE of the paths listed (files or empty directories; nothing recursive)."""
    job = new_job(
        JobType.REMOVE.name, siteid, "", priority=priority, max_tries=max_tries, metadata=metadata,
        submission_id=submission_id,
    )
    del job["src_filepath"]
    job["files"] = [_listed(f, i, copy=False) for i, f in enumerate(files)]
    return job


def submit(ctx: Context, job: SubmissionBody | dict[str, Any]) -> int:
    """Submits a job built by `new_job`/`new_copy` and answers its id (seed 003's submit).

    With a ``submission_id`` a repeated submit answers the existing job's id,
    so a client that lost the answer to a timeout can safely send it again.
    """
    return int(submit_job(ctx, job)["id"])


def submit_job(ctx: Context, job: SubmissionBody | dict[str, Any]) -> Job:
    """Like `submit`, but answers the whole job as created."""
    return cast(Job, ctx.post(WORKQUEUE + SUBMIT_ROUTE, job))
