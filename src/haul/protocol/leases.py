"""The claim's answer: leased jobs, each with its elements, sites and credentials.

Built by ``services/claims.py`` (several hundred elements at a time, on the
server's busiest route: plain dicts, typed here) and read by the worker.
A job's fields come first, then ``elements``; each element carries its own
lease (``token``, ``lease_expires``). Field names are pdm's: an element
names itself ``id`` and its job ``job_id``.
"""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict


class SiteInfo(TypedDict):
    """A site as a lease carries it: where to go and how to sign in."""

    site_id: int
    site_name: str
    def_path: str | None
    endpoints: list[str]
    # The only place a secret leaves the server: inside a lease that needs it.
    credential: dict[str, Any] | None
    # Registered by an admin (or the server's own): workers skip their
    # network policy (loopback/private addresses) for it.
    trusted: bool
    # SFTP: the key the server must present (pinned on first use).
    host_key: str | None


class Expectation(TypedDict, total=False):
    """What the source must match, when the job listed it so."""

    checksum: str
    filesize: int


class Replica(TypedDict, total=False):
    """Another copy of a listed file: the listing's fields, and its site."""

    siteid: int
    filepath: str
    site: SiteInfo


class LeasedElement(TypedDict):
    id: int
    job_id: int
    type: str  # the type's name (built-in or custom)
    src_filepath: str | None
    dst_filepath: str | None
    size: int
    attempts: int
    attempt_seq: int
    max_tries: int
    depth: int | None  # a LIST's depth; None for other types
    mode: str | None  # ElementMode: verify, overwrite, or None
    expect: Expectation | None
    sources: list[Replica] | None
    token: str  # the lease: every report about this element carries it
    lease_expires: str  # ISO 8601, the server's clock
    # On a path COPY's LIST: the worker may copy a one-file source in this
    # lease and nest the copy's result in the LIST's (services/fused_copy.py).
    fuse_copy: NotRequired[bool]


class LeasedJob(TypedDict):
    id: int
    user_id: int
    type: str
    src_siteid: int | None
    dst_siteid: int | None
    src_filepath: str | None
    dst_filepath: str | None
    extra_opts: dict[str, Any]
    priority: int
    protocol: str  # JobProtocol's name
    log_uid: Any
    request: Any  # a custom job's request
    # A retry trusts a destination as its own only if it is not older than
    # this (worker/own_work.py). ISO 8601.
    submitted: str
    src_site: SiteInfo | None
    dst_site: SiteInfo | None
    elements: list[LeasedElement]
