"""Handing free heap memory back after large copies (haul.worker.heap)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from haul.worker.heap import HeapTrimmer, _malloc_trim

MIB = 1 << 20


def test_the_heap_is_trimmed_once_per_so_many_bytes_moved() -> None:
    calls: list[int] = []
    trimmer = HeapTrimmer(every=64 * MIB, trim=lambda pad: calls.append(pad) or 1)
    for _ in range(6):
        trimmer.moved(10 * MIB)  # small and mid-size files: 60 MiB, no trim yet
    assert calls == []
    trimmer.moved(10 * MIB)
    assert calls == [0] and trimmer.trims == 1
    trimmer.moved(0)  # a namespace operation moved nothing
    trimmer.moved(256 * MIB)  # a large file trims at its end
    assert calls == [0, 0] and trimmer.trims == 2


def test_no_trim_while_a_large_copy_runs() -> None:
    """Its buffers, free for a moment between chunks, would be faulted back in."""
    calls: list[int] = []
    trimmer = HeapTrimmer(every=64 * MIB, trim=lambda pad: calls.append(pad) or 1)
    first, second = trimmer.begin(256 * MIB), trimmer.begin(256 * MIB)
    small = trimmer.begin(64 * 1024)
    assert (first, second, small) == (True, True, False)
    trimmer.end(first)
    trimmer.moved(256 * MIB)  # the other large copy still runs: later
    trimmer.end(small)
    trimmer.moved(64 * 1024)
    assert calls == []
    trimmer.end(second)
    trimmer.moved(256 * MIB)  # the last large copy ended: now
    assert calls == [0]
    trimmer.moved(0)  # nothing moved since
    assert calls == [0]


def test_without_malloc_trim_nothing_happens() -> None:
    trimmer = HeapTrimmer(every=1)
    trimmer._trim = None  # e.g. musl or macOS
    trimmer.moved(10 * MIB)
    assert trimmer.trims == 0


@pytest.mark.skipif(_malloc_trim() is None, reason="needs glibc's malloc_trim")
def test_memory_a_thread_freed_stays_resident_until_trimmed() -> None:
    """The mechanism itself, in a fresh interpreter: blocks a thread allocated in
    its own arena and freed (every tenth kept, so the arena cannot shrink from
    its top) stay resident; the trim gives their pages back."""
    script = textwrap.dedent(
        """
        import re, threading
        from haul.worker.heap import HeapTrimmer

        def rss():
            status = open("/proc/self/status").read()
            return int(re.search(r"VmRSS:\\s+(\\d+)", status)[1]) // 1024

        kept = []

        def churn():
            blocks = [bytearray(64 * 1024) for _ in range(2000)]  # 125 MiB, touched
            kept.extend(blocks[::10])

        thread = threading.Thread(target=churn)
        thread.start()
        thread.join()
        before = rss()
        trimmer = HeapTrimmer(every=1)
        trimmer.moved(1)
        print(before, rss(), trimmer.trims)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    before, after, trims = (int(x) for x in out)
    assert trims == 1
    assert before - after > 80, (before, after)  # of the 112 MiB freed
