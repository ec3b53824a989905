"""A job id's path segment never takes the fixed names routes use beside it.

``GET /jobs/schema`` and ``GET /jobs/{job_id}`` (or the dashboard's
``/web/jobs/new`` and ``/web/jobs/{job_id}``) both fit the path
``/jobs/schema`` if the id segment takes any text, and then whichever route
was registered first answers: correctness would hang on the order of
``include_router`` calls. A segment written ``{job_id:id}`` (``JOB_ID``)
takes anything but those names, so each name belongs to its own route alone,
in any order. Everything else still reaches the parameter's validation:
``/jobs/abc``, ``/jobs/-1`` and ``/jobs/1.5`` stay a 422 that names the field.

tests/unit/test_route_order.py checks that no two routes of the app
answer the same request, so a new fixed name beside an id shows up there.
"""

from __future__ import annotations

import re

from starlette.convertors import StringConvertor, register_url_convertor

CONVERTOR = "id"
# The fixed names beside a job id: seed 004's schema, the dashboard's form.
FIXED_NAMES = ("schema", "new")


class IdSegment(StringConvertor):
    regex = rf"(?!(?:{'|'.join(map(re.escape, FIXED_NAMES))})(?:/|$))[^/]+"


register_url_convertor(CONVERTOR, IdSegment())

# A job's id as a path segment: ``f"/jobs/{JOB_ID}"``.
JOB_ID = "{job_id:" + CONVERTOR + "}"
