"""The JSON shapes the server answers, as TypedDicts.

They describe what the server sends today so editors and type checkers can
help; they do not validate, and the server may add fields (total=False).
"""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = ["Element", "EndpointInfo", "Job", "Output", "Progress", "Site", "Upload",
           "Version", "WhoAmI"]


class Version(TypedDict):
    major: int
    minor: int
    patch: int


class EndpointInfo(TypedDict, total=False):
    url: str
    core: Version
    api: Version
    schema: Version


class Job(TypedDict, total=False):
    id: int
    user_id: int
    src_siteid: int | None
    dst_siteid: int | None
    src_filepath: str
    dst_filepath: str | None
    type: str
    status: str
    extra_opts: dict[str, Any]
    priority: int
    protocol: str
    log_uid: str
    timestamp: str
    max_tries: int
    metadata: dict[str, Any] | None
    submission_id: str | None
    num_elements: int
    num_new: int
    num_done: int
    num_failed: int
    num_submitted: int
    num_running: int
    num_cancelled: int
    num_paused: int
    # haul's: the files (elements of the job's type, without its expanding LIST)
    num_files: int
    files_done: int
    files_failed: int
    bytes_total: int | None
    bytes_done: int | None
    elements: list[Element]


class Progress(TypedDict, total=False):
    transferred: int
    elapsed: float
    instant: float
    average: float


class Element(TypedDict, total=False):
    id: int
    job_id: int
    src_filepath: str
    dst_filepath: str | None
    size: int
    max_tries: int
    attempts: int
    type: str
    status: str
    timestamp: str
    listing: dict[str, list[dict[str, Any]]] | None
    progress: Progress | None
    error: dict[str, Any] | None  # the latest attempt's {code, scope, message, retryable}


class Output(TypedDict, total=False):
    jobid: int
    elementid: int
    attempt: int
    type: str
    status: str
    log: str
    returncode: int | None
    host: str | None
    error: dict[str, Any] | None
    timestamp: str | None
    listing: dict[str, list[dict[str, Any]]]


class WhoAmI(TypedDict, total=False):
    user_id: int
    email: str
    name: str
    roles: list[str]
    credentials: list[dict[str, Any]]


class Site(TypedDict, total=False):
    site_id: int
    site_name: str
    site_desc: str
    def_path: str
    public: bool
    is_owner: bool
    requires_credential: bool
    protocols: list[str]
    endpoints: list[str]


class Upload(TypedDict, total=False):
    id: str
    checksum: str
    size: int
