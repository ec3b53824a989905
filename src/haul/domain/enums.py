"""The enums of seed 000, kept integer-compatible so pdm clients keep working.

The API accepts each enum as its integer, its integer as a string, or its name
in any case, and always answers with the name.
"""

from __future__ import annotations

from enum import IntEnum
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

# URL scheme of a site endpoint -> the protocol it speaks.
SCHEME_PROTOCOLS: dict[str, JobProtocol] = {
    "file": JobProtocol.FILE,
    "sftp": JobProtocol.SSH,
    "https": JobProtocol.HTTPS,
    "davs": JobProtocol.HTTPS,
    "http": JobProtocol.HTTPS,  # plain-HTTP WebDAV, for trusted internal networks
    "dav": JobProtocol.HTTPS,
    "root": JobProtocol.XROOTD,
    "s3": JobProtocol.S3,
    "dummy": JobProtocol.DUMMY,
    # Built in, never registered by users: files uploaded to the server itself.
    "upload": JobProtocol.HTTPS,
}

# Schemes whose servers want a per-user credential unless the site says otherwise.
CREDENTIAL_SCHEMES = frozenset({"sftp", "https", "davs", "http", "dav", "root", "s3"})

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
