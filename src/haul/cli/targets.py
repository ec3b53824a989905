"""Reading the command line's ``SITE:PATH`` and ``JOB[.ELEMENT]`` arguments.

A SITE is a site name or id, so users can type what `haul sites` shows;
names are resolved with one listing of the caller's sites per command.
"""

from __future__ import annotations

from dataclasses import dataclass

import haul.client as haul
from haul.cli.output import Failed, usage

UPLOAD = "upload"


@dataclass
class Target:
    site: str
    path: str


def parse_target(text: str, what: str = "argument") -> Target:
    site, sep, path = text.partition(":")
    if not sep or not site:
        usage(f"{what} {text!r}: expected SITE:PATH, e.g. mysite:/data/run1")
    return Target(site, path or "~")


def parse_job_ref(text: str) -> tuple[int, int | None]:
    """'12' -> (12, None); '12.3' -> (12, 3)."""
    job, sep, element = text.partition(".")
    try:
        return int(job), (int(element) if sep else None)
    except ValueError:
        usage(f"{text!r}: expected JOB or JOB.ELEMENT, e.g. 12 or 12.3")


class Sites:
    """Site names <-> ids for one command, fetched at most once."""

    def __init__(self, ctx: haul.Context) -> None:
        self.ctx = ctx
        self._sites: list[haul.Site] | None = None

    def all(self) -> list[haul.Site]:
        if self._sites is None:
            self._sites = haul.list_sites(self.ctx)
        return self._sites

    def id_of(self, site: str) -> int:
        if site.isdigit():
            return int(site)
        for s in self.all():
            if s.get("site_name") == site:
                return int(s["site_id"])
        raise Failed(f"no site named {site!r} (`haul sites` lists the ones you can use)")

    def name_of(self, site_id: int | None) -> str:
        if site_id is None:
            return "-"
        try:
            sites = self.all()
        except haul.ClientException:
            return str(site_id)
        for s in sites:
            if s.get("site_id") == site_id:
                return str(s.get("site_name"))
        return str(site_id)

    def place(self, site_id: int | None, path: str | None) -> str:
        """'name:/path', how the user wrote it."""
        if site_id is None and path is None:
            return "-"
        return f"{self.name_of(site_id)}:{path}"
