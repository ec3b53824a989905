"""Following a job to its end, optionally with Rich progress bars on stderr.

Progress is read from the elements (sizes and the workers' byte counts), so
the bars show files done/total, bytes, rate and ETA. A job's first element
of a COPY, REMOVE or RENAME is the listing that expands it; the total is
unknown until that listing is done, and the files bar pulses meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from haul.client._context import Context
from haul.client._jobs import all_elements, get_job
from haul.client._types import Element, Job
from haul.domain.enums import LEASED, TERMINAL_STATUSES, JobStatus, JobType

__all__ = ["TERMINAL", "Snapshot", "snapshot", "wait"]

TERMINAL = frozenset(s.name for s in TERMINAL_STATUSES)
DONE, FAILED = JobStatus.DONE.name, JobStatus.FAILED.name
LEASED_NAMES = frozenset(JobStatus(s).name for s in LEASED)
# Jobs that are their one element: nothing to expand, so their total is known.
UNEXPANDED = frozenset({JobType.LIST.name, JobType.MKDIR.name})
# Above this many elements, bars come from the job's counts alone (no per-poll element pages).
ELEMENT_DETAIL_LIMIT = 20_000


@dataclass
class Snapshot:
    """What the bars show: files (None total while still expanding) and bytes."""

    status: str
    files_total: int | None
    files_done: int
    files_failed: int
    bytes_total: int | None
    bytes_done: int


def snapshot(job: Job, elements: list[Element] | None) -> Snapshot:
    kind = job.get("type", "")
    status = job.get("status", "?")
    if elements is None and "num_files" in job:
        # The server counts the files (haul's num_files...; not pdm's num_elements,
        # which include the LIST that expands the job). Until that LIST is done
        # the total is unknown.
        listing = kind not in UNEXPANDED and not job.get("num_files") and (
            status not in TERMINAL)
        return Snapshot(status, None if listing else job.get("num_files", 0),
                        job.get("files_done", 0), job.get("files_failed", 0),
                        job.get("bytes_total"), job.get("bytes_done") or 0)
    if elements is None:  # an older server: reckoned from pdm's element counts
        total = job.get("num_elements", 0)
        expanding = kind not in UNEXPANDED
        files_total = max(total - 1, 0) if expanding else total
        done = job.get("num_done", 0) - (1 if expanding and job.get("num_done", 0) else 0)
        return Snapshot(status, files_total, max(done, 0), job.get("num_failed", 0), None, 0)
    files = [e for e in elements if e.get("type") == kind]
    expander = next((e for e in elements if e.get("id") == 0), None)
    expanded = kind in UNEXPANDED or (
        expander is not None and expander.get("status") in TERMINAL
    )
    done_bytes = 0
    for e in files:
        if e.get("status") == DONE:
            done_bytes += e.get("size", 0) or 0
        elif e.get("status") in LEASED_NAMES:
            done_bytes += int((e.get("progress") or {}).get("transferred", 0) or 0)
    return Snapshot(
        status=status,
        files_total=len(files) if expanded or status in TERMINAL else None,
        files_done=sum(1 for e in files if e.get("status") == DONE),
        files_failed=sum(1 for e in files if e.get("status") == FAILED),
        bytes_total=(
            sum(e.get("size", 0) or 0 for e in files) if kind == JobType.COPY.name else None
        ),
        bytes_done=done_bytes,
    )


class _AmountColumn(ProgressColumn):
    """'3/10 files' or '1.2/4.0 MB', as the task's unit says."""

    def render(self, task: Task) -> Text:
        done, total = int(task.completed), task.total
        if task.fields.get("unit") == "bytes":
            shown = f"{_size(done)}/{_size(int(total))}" if total is not None else _size(done)
        else:
            shown = f"{done}/{int(total) if total is not None else '?'} files"
            failed = task.fields.get("failed", 0)
            if failed:
                shown += f" ({failed} failed)"
        return Text(shown, style="progress.download")


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("", style="progress.data.speed")
        if task.fields.get("unit") == "bytes":
            return Text(f"{_size(int(speed))}/s", style="progress.data.speed")
        return Text(f"{speed:.1f} files/s", style="progress.data.speed")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


class _Bars:
    def __init__(self, job_id: int, console: Console) -> None:
        self.job_id = job_id
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            _AmountColumn(),
            _RateColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.files: TaskID = self.progress.add_task(f"job {job_id}", total=None, unit="files")
        self.bytes: TaskID | None = None

    def show(self, snap: Snapshot) -> None:
        self.progress.update(
            self.files,
            description=f"job {self.job_id} {snap.status}",
            total=snap.files_total,
            completed=snap.files_done,
            failed=snap.files_failed,
        )
        if snap.bytes_total is not None:
            if self.bytes is None:
                self.bytes = self.progress.add_task("bytes", total=None, unit="bytes")
            self.progress.update(self.bytes, total=snap.bytes_total or None,
                                 completed=snap.bytes_done)


@contextmanager
def _bars(job_id: int, console: Console | None) -> Iterator[_Bars]:
    bars = _Bars(job_id, console or Console(stderr=True))
    with bars.progress:
        yield bars


def wait(
    ctx: Context,
    job_id: int,
    timeout: float | None = None,
    progress: bool | Callable[[Job], Any] = False,
    *,
    interval: float = 1.0,
    console: Console | None = None,
) -> Job:
    """Polls until the job is DONE, FAILED or CANCELLED and answers it as it ended.

    A failed job is an answer, not an exception: look at its ``status`` and
    counts. Raises ``TimeoutError`` when ``timeout`` seconds pass first.
    ``progress=True`` draws bars on stderr (or ``console``); a callable is
    called with the job at every poll instead.
    """
    deadline = time.monotonic() + timeout if timeout is not None else None
    callback = progress if callable(progress) else None
    delay = min(0.2, interval)
    if progress is True:
        with _bars(job_id, console) as bars:
            return _poll(ctx, job_id, deadline, delay, interval, callback, bars)
    return _poll(ctx, job_id, deadline, delay, interval, callback, None)


def _poll(
    ctx: Context,
    job_id: int,
    deadline: float | None,
    delay: float,
    interval: float,
    callback: Callable[[Job], Any] | None,
    bars: _Bars | None,
) -> Job:
    while True:
        job = get_job(ctx, job_id)
        if bars is not None:
            detailed = job.get("num_elements", 0) <= ELEMENT_DETAIL_LIMIT
            elements = all_elements(ctx, job_id) if detailed else None
            bars.show(snapshot(job, elements))
        if callback is not None:
            callback(job)
        if job.get("status") in TERMINAL:
            return job
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            raise TimeoutError(f"job {job_id} is still {job.get('status')} after the timeout")
        pause = delay if deadline is None else min(delay, max(deadline - now, 0.0))
        time.sleep(pause)
        delay = min(delay * 1.5, interval)
