"""No two routes answer the same request, so the order routers are included in
(haul.server.app.API_ROUTERS, the dashboard's) decides nothing.

Each route's path is tried with every parameter a number, against every other
route sharing a method, by the regex Starlette matches requests with. A fixed
name beside an id (``/jobs/schema``, ``/web/jobs/new``) used to fit
``/jobs/{job_id}`` too and was right only while its router came first
(haul/server/path_ids.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi.routing import APIRoute
from starlette.routing import compile_path

from haul.server import metrics, web
from haul.server.app import API_ROUTERS
from haul.server.path_ids import FIXED_NAMES, IdSegment

Route = tuple[str, frozenset[str]]  # full path, methods


def _routes() -> Iterator[Route]:
    included = [*API_ROUTERS, *((r, "", "") for r in web.ROUTERS), (metrics.router, "", "")]
    for router, prefix, _tag in included:
        for route in router.routes:
            if isinstance(route, APIRoute):
                yield prefix + route.path, frozenset(route.methods)


def _sample(path: str) -> str:
    """A request the route answers: every parameter a number."""
    return re.sub(r"\{[^}]+\}", "1", path)


def test_no_two_routes_answer_the_same_request() -> None:
    routes = list(_routes())
    assert len(routes) > 60  # every router was found
    compiled = [(path, methods, compile_path(path)[0]) for path, methods in routes]
    clashes = []
    for path, methods in routes:
        request = _sample(path)
        answering = [
            other
            for other, other_methods, regex in compiled
            if methods & other_methods and regex.match(request)
        ]
        if answering != [path]:
            clashes.append((sorted(methods), request, answering))
    assert clashes == []


def test_the_fixed_names_beside_an_id_are_routes_of_their_own() -> None:
    paths = {path for path, _ in _routes()}
    for name in FIXED_NAMES:
        assert any(p.endswith(f"/jobs/{name}") for p in paths), name


def test_an_id_segment_takes_all_but_the_fixed_names() -> None:
    regex = re.compile(f"^{IdSegment.regex}$")
    for taken in ("1", "-1", "1.5", "abc", "2147483648", "schemas", "new1"):
        assert regex.match(taken), taken  # the parameter's validation answers (422)
    for name in FIXED_NAMES:
        assert not regex.match(name)
