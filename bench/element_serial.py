"""The worker's element path for zero-size dummy:// copies, in one thread: CPU per element.

Why: `many_jobs.py` prints the workers' CPU per element of a drain, but on this
shared 2-core machine it moved +-30 % between runs of the same code, with the
server's CPU moving with it. This runs what an element thread runs for each
leased COPY of a directory drain (`Executor.run`: places, storage cache, copy
engine, attempt log) over hand-written leases like `element_micro.py`'s, in the
calling thread with the worker's heap settings (`settle_heap`), no threads,
no server, and prints the thread's CPU per element of each run after a
warm-up. Old against new: `PYTHONPATH=<other tree>/src`.

    .venv/bin/python bench/element_serial.py [--files 5000] [--runs 4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # after PYTHONPATH: bench/

from bench.element_micro import _dummy_names, _leases, _site  # noqa: E402
from haul.cli.heap import settle_heap  # noqa: E402
from haul.worker.operations import Executor  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=4)
    args = ap.parse_args()
    n = args.files
    names = _dummy_names(n)
    executor = Executor()
    settle_heap()
    for run in range(args.runs + 1):  # run 0 warms up
        job = {
            "id": 100 + run,
            "type": "COPY",
            "protocol": None,
            "extra_opts": {"checksum": "none"},
            "src_filepath": "/",
            "dst_filepath": f"/out{run}",
            "src_site": _site(1, f"dummy://serial/?files={n}&size=0", None),
            "dst_site": _site(2, "dummy://serial-dst/", None),
        }
        leases = _leases(job, names, 0, run, "")
        for lease in leases:  # a fresh directory per run: the overlay outlives a run
            lease.element["dst_filepath"] = f"out{run}/{lease.element['dst_filepath'][4:]}"
        t0 = time.thread_time()
        for lease in leases:
            result = executor.run(lease, lambda _r: None)
            if result["returncode"] != 0:
                sys.exit(f"failed: {result.get('error')}")
        per = 1e6 * (time.thread_time() - t0) / n
        label = "warm-up" if run == 0 else f"run {run}"
        print(f"{label}: {per:.0f} us CPU per element", flush=True)


if __name__ == "__main__":
    main()
