"""Submitting jobs, as seed 000 describes (reading them back: job_reads.py)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from haul.domain.enums import PDM_DEFAULT_PROTOCOL, JobProtocol, JobStatus, JobType
from haul.domain.limits import MAX_TRIES, PRIORITY
from haul.domain.options import OptionsError, validate_options
from haul.domain.paths import PathError, validate_submitted_path
from haul.services import file_jobs, uploads
from haul.services.bans import check_submit
from haul.services.errors import BadRequest, NotFound
from haul.services.sites import SiteView, get_site, load_views, require_credential, seen_by
from haul.store.clock import utcnow
from haul.store.queries.job_reads import by_submission
from haul.store.queries.submissions import add_first_element, add_job
from haul.store.tables import Job, User


@dataclass
class JobSpec:
    """A submission its type's model accepted (server/submission_checks.py says which
    check lives where): the fields the type needs are there and within their bounds;
    ``submit`` adds what needs the database, and a path's rules."""

    type: JobType
    # A site's number, or uploads.UPLOAD_SITE for an upload (uploads.copy_source).
    src_siteid: int | str | None = None
    dst_siteid: int | None = None
    src_filepath: str | None = None
    dst_filepath: str | None = None
    extra_opts: dict[str, Any] = field(default_factory=dict)
    priority: int = PRIORITY.default
    protocol: JobProtocol | None = None
    max_tries: int = MAX_TRIES.default
    metadata: dict[str, Any] | None = None
    submission_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    # COPY and REMOVE: the files themselves, instead of src_filepath/dst_filepath.
    files: list[Any] | None = None


def _path(value: str | None, field_name: str) -> str:
    if value is None:
        raise BadRequest(f"{field_name}: field required")
    try:
        return validate_submitted_path(value, field_name)
    except PathError as exc:
        raise BadRequest(str(exc)) from exc


def _site(
    session: Session,
    user: User,
    site_id: int,
    field_name: str,
    loaded: dict[int, SiteView] | None = None,
) -> SiteView:
    """A site named in a submission (from ``loaded`` when it is there); one the caller
    cannot see is bad input (400)."""
    try:
        if loaded is not None and site_id in loaded:
            return seen_by(loaded[site_id], user, site_id, field_name)
        return get_site(session, user, site_id, field_name)
    except NotFound as exc:
        raise BadRequest(exc.detail) from exc


def _choose_protocol(spec: JobSpec, src: SiteView, dst: SiteView | None) -> JobProtocol:
    common = set(src.protocols)
    if dst is not None:
        common &= dst.protocols
        if not common:
            # Cross-protocol copies are fine: the worker reads with one, writes with another.
            common = set(src.protocols)
    usable = src.protocols | (dst.protocols if dst else set())
    if spec.protocol == PDM_DEFAULT_PROTOCOL and spec.protocol not in usable:
        # pdm's WorkqueueClient sends GRIDFTP on every call whatever the sites
        # are; haul serves no GridFTP, so that default means "what they speak".
        return min(common)
    if spec.protocol is not None:
        if spec.protocol not in usable:
            names = ", ".join(sorted(p.name for p in usable))
            raise BadRequest(
                f"protocol: {spec.protocol.name} is not served by the job's sites (they speak "
                f"{names})"
            )
        return spec.protocol
    return min(common)


def find_submission(session: Session, user: User, submission_id: str | None) -> Job | None:
    """The job a submission with this id already made, so a retried POST makes no second one.

    The one idempotency rule of every submission, built-in (``submit``) and
    custom (``custom_jobs.submit_custom``) alike.
    """
    if submission_id is None:
        return None
    return by_submission(session, user.id, submission_id)


@dataclass
class _Ends:
    """Where a job reads and writes: its sites (as the caller sees them) and paths.

    ``dst_siteid`` is what the job row keeps: a RENAME's is its source site, a
    REMOVE's, LIST's or MKDIR's none, whatever the submission said.
    """

    src: SiteView
    src_path: str | None
    dst: SiteView | None = None
    dst_path: str | None = None
    dst_siteid: int | None = None


def submit(session: Session, user: User, spec: JobSpec) -> tuple[Job, bool]:
    """Creates a job and its first element (or its listed files); returns (job, created).

    The steps run in this order because it decides which complaint a bad
    submission gets first: the upload, a resubmission, the options, the
    paths and sites, the protocol, bans, credentials.
    """
    # The named sites with their endpoints, read once (who may see them is checked
    # later, in the order of complaints above); their endpoints say which is the
    # upload site. An upload as the source is checked before a resubmission is
    # recognised, as the upload must be the caller's whatever the submission id says.
    named = [i for i in (spec.src_siteid, spec.dst_siteid) if isinstance(i, int)]
    loaded = load_views(session, named)
    upload_sites = {i for i, v in loaded.items() if uploads.is_upload_site(v.schemes)}
    spec.src_siteid, spec.src_filepath = uploads.copy_source(
        session, user, spec.type, spec.src_siteid, spec.src_filepath, spec.dst_siteid, upload_sites
    )
    existing = find_submission(session, user, spec.submission_id)
    if existing is not None:
        return existing, False
    opts = _options(spec)
    ends = _ends(session, user, spec, loaded)
    spec.dst_siteid = ends.dst_siteid
    protocol = _choose_protocol(spec, ends.src, ends.dst)
    _check_access(session, user, ends)
    job = _new_job(user, spec, ends, opts, protocol)
    # A transient row, not in the session: the INSERT is the driver's alone.
    job.id = add_job(session, job)
    if spec.files is not None:
        _add_listed(session, user, job, spec.files)
    else:
        _add_first_element(session, user, job, spec, ends)
    return job, True


def _options(spec: JobSpec) -> dict[str, Any]:
    """The job's options, with the defaults filled in; a bad one is a 400."""
    try:
        return validate_options(spec.type, spec.extra_opts)
    except OptionsError as exc:
        raise BadRequest(str(exc)) from exc


def _ends(session: Session, user: User, spec: JobSpec, loaded: dict[int, SiteView]) -> _Ends:
    """The job's sites and paths by its type; a listed job's paths are its files'."""
    assert isinstance(spec.src_siteid, int), "the model requires it, copy_source resolved it"
    listed = spec.files is not None
    src_path = None if listed else _path(spec.src_filepath, "src_filepath")
    ends = _Ends(src=_site(session, user, spec.src_siteid, "src_siteid", loaded), src_path=src_path)
    if spec.type == JobType.COPY:
        assert spec.dst_siteid is not None, "a COPY's model requires it"
        ends.dst_path = None if listed else _path(spec.dst_filepath, "dst_filepath")
        same = spec.dst_siteid == spec.src_siteid
        ends.dst = ends.src if same else _site(session, user, spec.dst_siteid, "dst_siteid", loaded)
        ends.dst_siteid = spec.dst_siteid
    elif spec.type == JobType.RENAME:
        ends.dst_path = _path(spec.dst_filepath, "dst_filepath")
        if spec.dst_siteid is not None and spec.dst_siteid != spec.src_siteid:
            raise BadRequest("dst_siteid: a RENAME stays on its source site")
        ends.dst_siteid = spec.src_siteid
    return ends


def _check_access(session: Session, user: User, ends: _Ends) -> None:
    """No ban on the job's sites, and the caller's credential for each (403, 419)."""
    src, dst = ends.src, ends.dst
    check_submit(session, {v.site.id: [e.url for e in v.endpoints] for v in (src, dst) if v})
    require_credential(session, user, src, "src_siteid")
    if dst is not None and dst.site.id != src.site.id:
        require_credential(session, user, dst, "dst_siteid")


def _new_job(
    user: User, spec: JobSpec, ends: _Ends, opts: dict[str, Any], protocol: JobProtocol
) -> Job:
    return Job(
        user_id=user.id,
        type=int(spec.type),
        src_siteid=ends.src.site.id,
        dst_siteid=ends.dst_siteid,
        src_filepath=ends.src_path,
        dst_filepath=ends.dst_path,
        extra_opts=opts,
        priority=spec.priority,
        protocol=int(protocol),
        max_tries=spec.max_tries,
        log_uid=secrets.token_hex(16),
        submission_id=spec.submission_id,
        meta=spec.metadata,
        params=spec.params,
        # Set here, not left to the table's default: the answer shows it.
        timestamp=utcnow(),
        # A job listing its files has every element at submission: no LIST expands it.
        expanded=spec.files is not None,
    )


def _add_listed(session: Session, user: User, job: Job, files: list[Any]) -> None:
    """One element per listed file; a replica's site is checked as the source's was."""

    def check_replica(site_id: int, field_name: str) -> None:
        view = _site(session, user, site_id, field_name)
        check_submit(session, {site_id: [e.url for e in view.endpoints]})
        require_credential(session, user, view, field_name)

    file_jobs.add_listed(session, job, files, check_replica)


def _add_first_element(session: Session, user: User, job: Job, spec: JobSpec, ends: _Ends) -> None:
    """Element 0: the MKDIR itself, or the LIST whose expansion makes the rest."""
    first_type = JobType.MKDIR if spec.type == JobType.MKDIR else JobType.LIST
    add_first_element(
        session,
        {
            "job_id": job.id,
            "id": 0,
            "user_id": user.id,
            "type": int(first_type),
            "status": int(JobStatus.NEW),
            "priority": spec.priority,
            "src_filepath": ends.src_path,
            "dst_filepath": ends.dst_path if spec.type == JobType.MKDIR else None,
            "max_tries": spec.max_tries,
            "timestamp": job.timestamp,
        },
    )
