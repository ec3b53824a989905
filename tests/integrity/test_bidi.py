"""Point 19: names and paths holding Unicode bidirectional controls are refused (400)."""

from __future__ import annotations

import pytest

from tests.harness import ServerProcess
from tests.integration.api import S, W

BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
        "\u2069", "\u200e", "\u200f", "\u061c"]


@pytest.mark.parametrize("char", BIDI, ids=lambda c: f"U+{ord(c):04X}")
def test_job_paths_with_bidi_controls_are_refused(server: ServerProcess, char: str) -> None:
    user = server.new_user()
    site = user.site(endpoints=["dummy://bidi/"])
    with user.client() as c:
        r = c.post(f"{W}/list", json={"src_siteid": site, "src_filepath": f"/evil{char}txt.exe"})
        assert r.status_code == 400, r.text
        assert "src_filepath" in r.json()["detail"]
        assert f"U+{ord(char):04X}" in r.json()["detail"]
        r = c.post(f"{W}/copy", json={"src_siteid": site, "src_filepath": "/a",
                                     "dst_siteid": site, "dst_filepath": f"/b{char}"})
        assert r.status_code == 400, r.text
        assert "dst_filepath" in r.json()["detail"]


def test_site_names_and_default_paths_with_bidi_controls_are_refused(
    server: ServerProcess,
) -> None:
    user = server.new_user()
    with user.client() as c:
        r = c.post(f"{S}/site", json={"site_name": "evil\u202etxt.exe",
                                      "endpoints": ["dummy://x/"]})
        assert r.status_code == 400, r.text
        assert "site_name" in r.json()["detail"]
        r = c.post(f"{S}/site", json={"site_name": "fine-name-\u00e9",
                                      "endpoints": ["dummy://x/"], "def_path": "/home\u2067"})
        assert r.status_code == 400, r.text
        assert "def_path" in r.json()["detail"]


def test_other_unicode_is_still_accepted(server: ServerProcess) -> None:
    user = server.new_user()
    site = user.site(name=f"caf\u00e9-\u65e5\u672c-{user.id}", endpoints=["dummy://ok/"])
    with user.client() as c:
        r = c.post(f"{W}/list", json={"src_siteid": site, "src_filepath": "/donn\u00e9es/\u05e9"})
        assert r.status_code == 200, r.text


def test_custom_job_names_with_bidi_controls_are_refused(server: ServerProcess) -> None:
    user = server.new_user()
    with user.client() as c:
        r = c.post(f"{W}/jobs", json={"type": "no-such-type", "name": "report\u202egpj.exe"})
    assert r.status_code == 400, r.text
    assert r.json()["detail"].startswith("name:")
