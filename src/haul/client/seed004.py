"""The old name of ``haul.client.generic_jobs``, kept so existing imports keep working.

The module was named after the document that specifies the API (seed 004);
``generic_jobs`` names what it is. This one re-exports it and holds nothing of
its own: ``haul.client.seed004.get_job is haul.client.generic_jobs.get_job``.
"""

from haul.client.generic_jobs import *  # noqa: F403
from haul.client.generic_jobs import __all__ as __all__
