"""How much one answer may hold: each paged route's default and maximum page size.

A job can have a million elements and a LIST a million entries; no answer
returns all of them at once. Each route takes ``limit`` and ``offset`` (the
listing embedded in an element or an output takes ``listing_limit`` and
``listing_offset``); a value outside its bounds is refused (422, naming the
field). The defaults keep answers of normal jobs whole, as clients written
for seed 000 expect.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    default: int
    maximum: int


JOBS = Page(default=100, maximum=10_000)  # GET /jobs
ELEMENTS = Page(default=1000, maximum=10_000)  # GET /jobs/{id}/elements
OUTPUT = Page(default=10_000, maximum=100_000)  # GET /jobs/{id}/output
# POST /statuses with list_files: the elements of each job named.
STATUS_FILES = Page(default=10_000, maximum=100_000)
# The entries of a listing embedded in an element's or an output's JSON.
LISTING = Page(default=10_000, maximum=100_000)
MAX_OFFSET = 2**62

# Files one COPY or REMOVE may list (``files``): a request with more is a 413.
MAX_FILES_PER_JOB = 100_000
# Each listed file's own metadata, as JSON.
MAX_FILE_METADATA_BYTES = 1024
# Alternative replicas one listed file may name (``sources``).
MAX_REPLICAS = 10
