"""CPU seconds and peak memory of a process, read from /proc: every benchmark
reports the server's (and worker's) CPU beside its own rates, and the queue
benchmark the server's peak RSS (issue 13: a 100,000-file directory under
500 MB)."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User+system CPU of a process (Linux); NaN when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def peak_rss_mb(pid: int) -> float:
    """The process's resident-set high-water mark (VmHWM), in MB; NaN when unreadable.

    The kernel keeps the peak, so no sampling can miss a short spike.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    except (OSError, IndexError, ValueError):
        pass
    return float("nan")


def descendants(pid: int) -> list[int]:
    """Every live descendant of a process (its children's children too), from /proc."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                kids = [int(k) for k in (task / "children").read_text().split()]
                todo.extend(kids)
                out.extend(kids)
        except OSError:
            continue
    return out
