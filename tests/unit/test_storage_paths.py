"""haul.storage._base.normpath: a path already normal is returned as it is, and
every other answer is still posixpath's (a leading "//" folded too)."""

from __future__ import annotations

import itertools
import posixpath

import pytest

from haul.domain.errors import TransferError
from haul.storage._base import normpath


def test_normpath_answers_as_posixpath_does_for_every_small_path() -> None:
    parts = ["a", ".", "..", "", "b.c", ".h", "...", "x/"]
    for k in range(1, 5):
        for combo in itertools.product(parts, repeat=k):
            base = "/" + "/".join(combo)
            for path in (base, base + "/", "/" + base):
                assert normpath(path) == "/" + posixpath.normpath(path).lstrip("/"), path


def test_normpath_refuses_relative_paths() -> None:
    for bad in ("", "a/b", "./a"):
        with pytest.raises(TransferError):
            normpath(bad)


def test_job_paths_normalise_as_posixpath_does() -> None:
    """haul.domain.paths' joins and resolutions keep posixpath's answers (fast path or not)."""
    from haul.domain.paths import join, resolve_path

    parts = ["a", ".", "", "b.c", ".h", "x/"]
    for k in range(1, 5):
        for combo in itertools.product(parts, repeat=k):
            tail = "/".join(combo)
            for parent in ("/", "/p", "/p/", "p", ""):
                want = posixpath.normpath(posixpath.join(parent, tail))
                want = "/" + want.lstrip("/") if want.startswith("//") else want
                assert join(parent, tail) == want, (parent, tail)
    assert resolve_path("/", "/", "/a/b") == "/a/b"
    assert resolve_path("/srv/", "home/u", "x/./y/") == "/srv/home/u/x/y"
    assert resolve_path("//", "/", "//a//b/") == "/a/b"
