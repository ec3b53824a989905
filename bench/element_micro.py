"""In-process micro benchmark: the worker's whole element path for small files.

Why: `bench/transfers.py` times a job through the server, the claims and the
reports, on a machine the other benchmarks share; `xrootd_micro.py` and
`sftp_micro.py` time `copy_file` alone. This runs what a worker's element
threads run for each leased COPY, `Executor.run` (places, storage cache,
the copy engine, the attempt log), on hand-written leases like the ones a
LIST's expansion makes (`size` from the listing), from a test server on
loopback (`root`, `sftp`) or a local directory (`file`) to local disk (or,
`dummy`, zero-size generated files to `dummy://`, what `many_jobs.py` drains), with
`--threads` threads (the worker's default concurrency is 4), and prints
this process's CPU seconds (user and system, all threads, the protocol
clients' own included) per 1,000 files: the figure a noisy machine disturbs
least. Old against new code: `PYTHONPATH=<other tree>/src` (haul is imported
from the path, the test servers from this repository).

    .venv/bin/python bench/element_micro.py --source sftp [--files 1000] [--runs 3]
        [--out /dev/shm] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # after PYTHONPATH: tests/

from haul.storage.dummy import reset as reset_dummy  # noqa: E402
from haul.worker.operations import Executor  # noqa: E402
from haul.worker.running import Running  # noqa: E402
from tests.servers.fixtures import StorageServer, _xrootd, run_sshd  # noqa: E402


@contextlib.contextmanager
def _source(kind: str) -> Iterator[StorageServer]:
    if kind == "root":
        with _xrootd([]) as server:
            yield server
    elif kind == "sftp":
        with run_sshd() as server:
            yield server
    else:
        with tempfile.TemporaryDirectory() as tmp:
            yield StorageServer(endpoint_url=f"file://{tmp}", credential={}, root=Path(tmp))


def _dummy_names(files: int) -> list[str]:
    """The generated files of `dummy://micro/?files=N` (as `many_jobs.py` drains them)."""
    return [f"file-{i:05d}.dat" for i in range(files)]


def _site(site_id: int, url: str, credential: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "site_id": site_id,
        "site_name": f"s{site_id}",
        "def_path": "/",
        "endpoints": [url],
        "credential": credential,
        "trusted": True,  # loopback: the test servers' own
        "host_key": None,
    }


def _leases(
    job: dict[str, Any], names: list[str], size: int, run: int, src_dir: str = "small"
) -> list[Running]:
    return [
        Running(
            job=job,
            element={
                "id": i + 1,
                "job_id": job["id"],
                "type": "COPY",
                "src_filepath": f"{src_dir}/{name}",
                "dst_filepath": f"out/{name}",
                "size": size,
                "attempts": 0,
                "attempt_seq": 0,
                "max_tries": 3,
                "depth": None,
                "mode": None,
                "expect": None,
                "sources": None,
                "token": f"t{i}",
                "lease_expires": "",
            },
        )
        for i, name in enumerate(names)
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", choices=("root", "sftp", "file", "dummy"), default="sftp")
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--size", type=int, default=64 * 1024)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=None, help="destination parent (default: a temporary dir)")
    ap.add_argument("--profile", help="cProfile the last run into this file")
    args = ap.parse_args()
    dummy = args.source == "dummy"
    source = _source("file" if dummy else args.source)
    with source as server, tempfile.TemporaryDirectory(dir=args.out) as tmp:
        assert server.root is not None
        if dummy:  # many_jobs.py's drain: generated zero-size files to dummy://
            names = _dummy_names(args.files)
            src_url = f"dummy://micro/?files={args.files}&size=0"
            dst_url = "dummy://micro-dst/"
            args.size = 0
        else:
            src = server.root / "small"
            src.mkdir()
            names = [f"d{i % 10}/f{i:05d}" for i in range(args.files)]
            for name in names:
                (src / name).parent.mkdir(exist_ok=True)
                (src / name).write_bytes(os.urandom(args.size))
            if args.source == "root":
                for path in [src, *src.rglob("*")]:
                    shutil.chown(path, "nobody", "nogroup")
            src_url = server.endpoint_url  # its path is the server's export directory
        executor = Executor()
        out = Path(tmp)
        if not dummy:
            dst_url = f"file://{out}"
        for run in range(args.runs + 1):  # run 0 warms up: connections, imports
            shutil.rmtree(out / "out", ignore_errors=True)
            if dummy:
                reset_dummy()
            job = {
                "id": 100 + run,
                "type": "COPY",
                "protocol": None,
                "extra_opts": {"checksum": "none"} if dummy else {},
                "src_filepath": "small",
                "dst_filepath": "out",
                "src_site": _site(1, src_url, server.credential),
                "dst_site": _site(2, dst_url, None),
            }
            leases = _leases(job, names, args.size, run, "" if dummy else "small")
            profile = cProfile.Profile() if args.profile and run == args.runs else None
            r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            if profile is not None:
                profile.enable()
            with ThreadPoolExecutor(args.threads) as pool:
                results = list(pool.map(lambda r: executor.run(r, lambda _r: None), leases))
            if profile is not None:
                profile.disable()
                profile.dump_stats(args.profile)
            wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
            failed = [r for r in results if r["returncode"] != 0]
            if failed:
                sys.exit(f"{len(failed)} failed, e.g. {failed[0].get('error')}")
            user, system = r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime
            per = 1000 / args.files
            label = "warm-up" if run == 0 else f"run {run}"
            print(
                f"{args.source} {label}: {args.files / wall:7.1f} files/s, CPU per 1,000 files"
                f" {(user + system) * per:.2f} s (user {user * per:.2f},"
                f" system {system * per:.2f}), "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
