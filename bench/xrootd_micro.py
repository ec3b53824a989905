"""In-process micro benchmark: the copy engine's root:// -> local path for small files.

Why: issue 11's small-file row is bounded by the worker's CPU per file, most
of it in the XRootD client; timing a whole job mixes in the queue. This runs
`copy_file` alone, from a test XRootD server on loopback to local disk, with
`--threads` threads (the worker's default concurrency is 4), and reports
wall time and this process's CPU seconds (all threads, the client's own
included) per 1,000 files. `--out /dev/shm` leaves out what the local
filesystem's file creation costs (on this machine's ext4 /tmp, 0.3-1 s CPU
per 1,000 new files: the inode allocator, bench/RESULTS.md).

    .venv/bin/python bench/xrootd_micro.py [--files 1000] [--size 65536] [--threads 4] [--runs 3]

XRD_* variables set in the environment reach the client (e.g. XRD_WORKERTHREADS).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from haul.storage.copy import copy_file  # noqa: E402
from haul.storage.schemes import open_storage  # noqa: E402
from tests.servers.fixtures import _xrootd  # noqa: E402


def one_run(server_url: str, names: list[str], out: Path, threads: int) -> tuple[float, float]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    local = threading.local()
    dst = open_storage("file://" + str(out))
    dirs: set[str] = set()

    def storage():  # type: ignore[no-untyped-def]
        if not hasattr(local, "src"):
            local.src = open_storage(server_url)
        return local.src

    def copy(name: str) -> None:
        copy_file(storage(), name, dst, str(out / Path(name).name), dirs=dirs)

    cpu0, t0 = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(copy, names))
    return time.perf_counter() - t0, time.process_time() - cpu0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--size", type=int, default=64 * 1024)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=None, help="destination parent (default: a temporary dir)")
    args = ap.parse_args()
    with _xrootd([]) as server, tempfile.TemporaryDirectory(dir=args.out) as tmp:
        assert server.root is not None
        src = server.root / "small"
        src.mkdir()
        for i in range(args.files):
            (src / f"f{i:05d}.bin").write_bytes(os.urandom(args.size))
        shutil.chown(src, "nobody", "nogroup")
        names = [f"{src}/f{i:05d}.bin" for i in range(args.files)]
        for run in range(args.runs):
            wall, cpu = one_run(server.endpoint_url, names, Path(tmp) / "out", args.threads)
            per = 1000 / args.files
            print(
                f"run {run}: {args.files / wall:7.1f} files/s, "
                f"CPU {cpu * per:.2f} s per 1,000 files, wall {wall:.2f} s, "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
