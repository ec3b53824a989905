"""Paths in worker messages, named as the user wrote them (worker/places.py)."""

from __future__ import annotations

from haul.worker.places import Naming, name_paths

DATA = Naming("data", "/data", "/srv/export/data", "/srv/export")
HOME = Naming("home", "out/x", "/home/alice/out/x", "")


def test_the_resolved_path_becomes_site_path_with_the_resolved_one_after_it() -> None:
    assert (
        name_paths("/srv/export/data: No such file or directory", [DATA])
        == "data:/data (resolved /srv/export/data): No such file or directory"
    )


def test_paths_below_and_above_it_in_the_site_are_named_in_site_terms() -> None:
    assert name_paths("/srv/export/data/a b", [DATA]) == (
        "data:/data/a (resolved /srv/export/data/a) b"
    )
    assert name_paths("/srv/export: no such directory", [DATA]) == (
        "data:/ (resolved /srv/export): no such directory"
    )


def test_paths_outside_every_site_and_inside_urls_are_left_alone() -> None:
    message = "/etc/passwd and dummy://host/srv/export/data, /srv: no"
    assert name_paths(message, [DATA, HOME]) == message


def test_an_endpoint_at_the_root_names_only_paths_related_to_the_place() -> None:
    assert name_paths("/home/alice/out: missing; /tmp/z", [DATA, HOME]) == (
        "home:/home/alice/out: missing; /tmp/z"
    )
    # A relative path is shown as written, then resolved.
    assert name_paths("/home/alice/out/x: exists", [HOME]) == (
        "home:out/x (resolved /home/alice/out/x): exists"
    )


def test_naming_twice_changes_nothing() -> None:
    once = name_paths("/srv/export/data: gone", [DATA])
    assert name_paths(once, [DATA]) == once


def test_identical_paths_need_no_resolved_part() -> None:
    plain = Naming("s", "/a/b", "/a/b", "")
    assert name_paths("/a/b: gone", [plain]) == "s:/a/b: gone"
