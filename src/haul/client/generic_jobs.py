"""The generic job API (seed 004's: jobs of any registered type) under its own names.

    from haul.client import Context, generic_jobs

    job = generic_jobs.create_job(ctx, "checksum", "me@example.org", {"path": "/data/a"})
    job, state = generic_jobs.find_job(ctx, job["id"])
    generic_jobs.get_job(ctx, job["id"], state="finished")   # NotFound unless finished

``haul.client`` exports every one of these names too, except ``get_job``:
there it is seed 000's (a job by id, whatever its status), which existing
code relies on. This module is where seed 004's state-checking ``get_job``
lives. See ``haul.client._generic_jobs`` for the state mapping. Its old name,
``haul.client.seed004``, still imports (``seed004.py``).
"""

from haul.client._generic_jobs import *  # noqa: F403
from haul.client._generic_jobs import __all__ as __all__
