"""The enums of seed 000, kept integer-compatible so pdm clients keep working.

The API accepts each enum as its integer, its integer as a string, or its name
in any case, and always answers with the name.

The site schemes' table (``SITE_SCHEMES``) is here too, beside the protocols it
maps to: the worker and ``domain/endpoints.py`` read ``SCHEME_PROTOCOLS`` from
this module, and a module of its own would need ``JobProtocol`` from here while
this one kept those names from it: an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any, TypeVar


class JobType(IntEnum):
    LIST = 0
    COPY = 1
    REMOVE = 2
    RENAME = 3
    MKDIR = 4


class JobStatus(IntEnum):
    NEW = 0
    DONE = 1
    FAILED = 2
    SUBMITTED = 3
    RUNNING = 4
    CANCELLED = 5
    PAUSED = 6

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED})
# Element status groups, as integers so one tuple serves SQL ``IN`` lists and
# membership tests of JobStatus values alike.
# Leased: a worker holds the element, claimed (SUBMITTED) or reported on (RUNNING).
LEASED = (int(JobStatus.SUBMITTED), int(JobStatus.RUNNING))
# Runnable: queued or leased, so its stage (and its job) has not drained.
RUNNABLE = (int(JobStatus.NEW), *LEASED)


class Command(StrEnum):
    """What haul itself tells a leased element's worker (users may send free text too)."""

    CANCEL = "cancel"  # stop, and report the element CANCELLED


class ElementMode(StrEnum):
    """What a COPY element does besides copying; None (no mode) is the copy itself."""

    VERIFY = "verify"  # a recover check: compare the destination, copy nothing
    OVERWRITE = "overwrite"  # a re-copy replacing what a check found wrong


class BanKind(StrEnum):
    """FTS3's two kinds of ban."""

    STORAGE = "se"  # a storage endpoint (a site id or scheme://host:port)
    USER = "dn"  # a user (FTS3's distinguished name)


class BanAction(StrEnum):
    """What a storage ban does to the queued work touching it."""

    CANCEL = "cancel"
    WAIT = "wait"  # held, not claimable, until lifted or its timeout passes


class Role(StrEnum):
    """An account's role; a token acts with its account's role."""

    USER = "user"
    ADMIN = "admin"  # also a user
    WORKER = "worker"  # only the worker protocol
    METRICS = "metrics"  # only /metrics
    SYSTEM = "system"  # owns the server's own things; can never authenticate


# The roles of people: they sign in with a password, use the API and the dashboard.
USER_ROLES = frozenset({Role.USER.value, Role.ADMIN.value})


class JobProtocol(IntEnum):
    """Transfer protocols. 0-2 are pdm's; the rest are what haul really speaks."""

    GRIDFTP = 0
    SSH = 1
    DUMMY = 2
    FILE = 3
    HTTPS = 4
    XROOTD = 5
    S3 = 6


# What pdm's own client sends as ``protocol`` when its caller names none. haul
# speaks no GridFTP, so a job asking for it runs on the protocol its sites speak
# (services.jobs); any other protocol asked for must be one the sites serve.
PDM_DEFAULT_PROTOCOL = JobProtocol.GRIDFTP


# Element/job type integers of custom job types: CUSTOM_BASE + the job_types row id.
# Built-in types keep pdm's 0..4, so the two ranges never meet.
CUSTOM_BASE = 1000


@dataclass(frozen=True)
class Scheme:
    """What the domain knows of a site endpoint's URL scheme.

    ``credentials``: what a credential for it must carry, any one of these key
    sets (none: the scheme takes no credential). ``offered``: listed by
    ``GET /site/api/v1.0/service`` among the schemes to register.
    ``host_key``: its servers prove themselves by an SSH host key, which a
    site may pin (``PUT .../site/{id}/host_key``, or a worker's first use).
    """

    protocol: JobProtocol
    credentials: tuple[tuple[str, ...], ...] = ()
    offered: bool = True
    host_key: bool = False


_SECRET_OR_LOGIN = (("token",), ("username", "password"))

# The one table of URL schemes outside storage. The storage's own (storage/schemes.py:
# BACKENDS) names the same schemes, less the internal "upload" and plus "xroot", which
# it opens but no site registers; tests/unit/test_scheme_registry.py keeps them so.
SITE_SCHEMES: dict[str, Scheme] = {
    "file": Scheme(JobProtocol.FILE),
    "sftp": Scheme(
        JobProtocol.SSH, (("username", "password"), ("username", "private_key")), host_key=True
    ),
    "https": Scheme(JobProtocol.HTTPS, _SECRET_OR_LOGIN),
    "davs": Scheme(JobProtocol.HTTPS, _SECRET_OR_LOGIN),
    # Plain-HTTP WebDAV, for trusted internal networks: registrable, not offered.
    "http": Scheme(JobProtocol.HTTPS, _SECRET_OR_LOGIN, offered=False),
    "dav": Scheme(JobProtocol.HTTPS, _SECRET_OR_LOGIN, offered=False),
    "root": Scheme(JobProtocol.XROOTD, _SECRET_OR_LOGIN),
    "s3": Scheme(JobProtocol.S3, (("access_key", "secret_key"),)),
    "dummy": Scheme(JobProtocol.DUMMY),
    # Built in, never registered by users: files uploaded to the server itself.
    "upload": Scheme(JobProtocol.HTTPS, offered=False),
}

# Read off SITE_SCHEMES, for their many readers.
# URL scheme of a site endpoint -> the protocol it speaks.
SCHEME_PROTOCOLS: dict[str, JobProtocol] = {s: f.protocol for s, f in SITE_SCHEMES.items()}
# What a credential must carry, per scheme that takes one: any one of the listed key sets.
CREDENTIAL_FIELDS: dict[str, list[tuple[str, ...]]] = {
    s: list(f.credentials) for s, f in SITE_SCHEMES.items() if f.credentials
}
# Schemes whose servers want a per-user credential unless the site says otherwise.
CREDENTIAL_SCHEMES = frozenset(CREDENTIAL_FIELDS)
# The schemes a user is offered to register a site with.
OFFERED_SCHEMES: tuple[str, ...] = tuple(s for s, f in SITE_SCHEMES.items() if f.offered)
# The schemes whose sites may pin a host key.
HOST_KEY_SCHEMES = frozenset(s for s, f in SITE_SCHEMES.items() if f.host_key)
# Options a backend reads beside the secret, whatever the scheme (see docs/storage.md).
OPTIONAL_CREDENTIAL_FIELDS = frozenset(
    {"region", "passphrase", "ca_cert", "verify", "host_key", "session_token"}
)

E = TypeVar("E", bound=IntEnum)


def parse_enum(enum: type[E], value: Any, field: str) -> E:
    """Read an enum from an integer, a numeric string, or a name in any case.

    Raises ValueError with a message naming the field and the accepted values,
    which the API layer turns into a 400/422.
    """
    if isinstance(value, enum):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{field}: expected one of {_choices(enum)}, got {value!r}")
    if isinstance(value, int):
        try:
            return enum(value)
        except ValueError:
            pass
    elif isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            try:
                return enum(int(text))
            except ValueError:
                pass
        else:
            member = enum.__members__.get(text.upper())
            if member is not None:
                return member
    raise ValueError(f"{field}: expected one of {_choices(enum)}, got {value!r}")


def _choices(enum: type[IntEnum]) -> str:
    return ", ".join(f"{m.name}={m.value}" for m in enum)
