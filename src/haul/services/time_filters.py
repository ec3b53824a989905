"""Time filters given as text: an ISO-8601 datetime, or a duration back from now.

Scale's convention (seed 001's ``/load``, and the job list's ``since``
filters): ``PT3H0M0S`` means three hours ago. The duration grammar is kept
to weeks, days, hours, minutes and seconds on purpose, rather than
pydantic's wider one (which also takes plain numbers and negative spans),
so the answers stay what the seed documents.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from haul.services.errors import BadRequest
from haul.store.clock import utcnow

MAX_RANGE = timedelta(days=31)
DEFAULT_SPAN = timedelta(days=7)

_DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta | None:
    """An ISO-8601 duration in weeks, days, hours, minutes, seconds; None if not one."""
    m = _DURATION.match(text.strip().upper())
    if not m or text.strip().upper() in ("P", "PT") or text.strip().upper().endswith("T"):
        return None
    parts = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    return timedelta(
        weeks=parts["w"], days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"]
    )


def parse_when(value: str | None, field: str, now: datetime, default: datetime) -> datetime:
    """A datetime or a duration back from now (Scale's convention), as UTC."""
    if value is None or not value.strip():
        return default
    text = value.strip()
    if text.upper().startswith("P"):
        span = parse_duration(text)
        if span is None:
            raise BadRequest(
                f"{field}: {value!r} is not an ISO-8601 duration such as PT3H0M0S "
                "(weeks, days, hours, minutes and seconds are supported)"
            )
        return now - span
    try:
        when = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"{field}: {value!r} is neither an ISO-8601 datetime such as "
            "2015-01-01T00:00:00Z nor a duration such as PT3H0M0S"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def time_range(
    started: str | None, ended: str | None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    now = now or utcnow()
    end = parse_when(ended, "ended", now, now)
    start = parse_when(started, "started", now, end - DEFAULT_SPAN)
    if start > end:
        raise BadRequest("started: must not be after ended")
    if end - start > MAX_RANGE:
        raise BadRequest("started, ended: the time range must be within 31 days")
    return start, end
