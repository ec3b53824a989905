"""Path rules: what a job path may contain and where it lands on a site.

Paths are data, never shell input. A site's endpoint URL may carry a path
prefix (``file:///srv/siteA``) and every job path is resolved beneath it, so
no job can reach outside what the site exports. ``~`` means the site's
``def_path``; relative paths are relative to it too.
"""

from __future__ import annotations

import posixpath
import re

MAX_PATH_LENGTH = 4096
# Unicode category Cc exactly: C0, DEL and C1 (e.g. U+0085 NEL). One regex
# search instead of a category lookup per character: workers resolve two
# paths per element.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# Unicode bidirectional controls: embeddings and overrides (U+202A-U+202E),
# isolates (U+2066-U+2069) and the marks (U+200E, U+200F, U+061C). They make
# a name display differently from what it is ("evil\u202etxt.exe" shows as
# "evilexe.txt"), so what people type is refused. Names found on storage are
# data and are kept as they are: only the API's inputs are checked.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class PathError(ValueError):
    """A job path that haul refuses (the API answers 400 with this message)."""


def validate_path(path: object, field: str = "path") -> str:
    if not isinstance(path, str):
        raise PathError(f"{field}: must be a string")
    if path == "":
        raise PathError(f"{field}: must not be empty")
    if len(path) > MAX_PATH_LENGTH:
        raise PathError(f"{field}: longer than {MAX_PATH_LENGTH} characters")
    bad = _CONTROL.search(path)
    if bad is not None:
        if bad.group() == "\x00":
            raise PathError(f"{field}: contains a NUL character")
        raise PathError(f"{field}: contains control character {ord(bad.group()):#04x}")
    if ".." in path.split("/"):
        raise PathError(f"{field}: '..' segments are not allowed")
    if path.startswith("~") and not (path == "~" or path.startswith("~/")):
        raise PathError(f"{field}: '~user' paths are not supported; use '~' or '~/...'")
    return path


def refuse_bidi(value: str, field: str) -> str:
    """``value`` unless it holds a bidirectional control (see ``_BIDI``)."""
    bad = _BIDI.search(value)
    if bad is not None:
        raise PathError(
            f"{field}: contains Unicode bidirectional control U+{ord(bad.group()):04X}, "
            "which makes text display differently from what it is"
        )
    return value


def validate_submitted_path(path: object, field: str = "path") -> str:
    """A path as a user sends it: the job path rules plus no bidirectional controls."""
    return refuse_bidi(validate_path(path, field), field)


def site_relative(path: str, def_path: str = "/") -> str:
    """The absolute path inside the site that a job path names."""
    validate_path(path)
    home = "/" + def_path.strip("/") if def_path else "/"
    if path == "~":
        rel = home
    elif path.startswith("~/"):
        rel = posixpath.join(home, path[2:])
    elif path.startswith("/"):
        rel = path
    else:
        rel = posixpath.join(home, path)
    return _normalise(rel)


def resolve_path(prefix: str, def_path: str, path: str) -> str:
    """The absolute path on the storage system for a job path on a site."""
    inner = site_relative(path, def_path)
    base = "/" + prefix.strip("/") if prefix.strip("/") else ""
    return _normalise(base + inner) if base else inner


def join(parent: str, name: str) -> str:
    return _normalise(posixpath.join(parent, name))


def _normalise(path: str) -> str:
    # No '..' can be present (validated), so normpath only folds '.' and '//'.
    if path.startswith("/") and "//" not in path and "/." not in path and path[-1] != "/":
        return path  # normal already: every file of a listed directory, twice each
    norm = posixpath.normpath(path)
    if norm.startswith("//"):
        norm = "/" + norm.lstrip("/")
    return norm
