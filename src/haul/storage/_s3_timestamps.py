"""Timestamps in S3 answers, parsed without dateutil.

botocore parses every timestamp of every answer (a GET's Last-Modified
header, each key of a listing) with dateutil's general parser, about a
tenth of the worker's CPU per small object. S3 sends two fixed formats:
ISO 8601 in XML bodies and RFC 7231 dates in headers, which the standard
library reads directly; anything else still goes to botocore's parser.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime

import botocore.session
from botocore.utils import parse_timestamp


def timestamp(value: str) -> datetime:
    """An aware datetime, as botocore's own parser answers."""
    try:
        text = value[:-1] + "+00:00" if value.endswith("Z") else value
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is not None:
            return parsed
    except (TypeError, ValueError, AttributeError):
        pass
    try:
        parsed = parsedate_to_datetime(value)
        if parsed.tzinfo is not None:
            return parsed
    except (TypeError, ValueError, IndexError):
        pass
    return parse_timestamp(value)


def install(session: botocore.session.Session) -> None:
    """Makes the clients of `session` parse timestamps with `timestamp`."""
    session.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=timestamp
    )
