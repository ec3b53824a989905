"""local -> local: one haul COPY job against rclone and cp, on the same data, in one run.

Datasets (made once, page cache warm): 4 x 256 MiB random, and 1,000 x 64 KiB
in 10 directories. Each tool copies each dataset into a fresh directory,
three times, alternating tools so drift hits them alike; every copy is
checked (file count, bytes, md5 of every file). haul runs with default
worker settings (`haul worker --concurrency 4`), adler32 verified by reading
the destination back, timed from submission to DONE (after one untimed
warm-up job); rclone with its
defaults (4 transfers; local -> local it compares md5 of source and
destination); cp -r (no check). Run:

    .venv/bin/python bench/local_copy.py [--runs 3] [--only large|small]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.proc_cpu import cpu_seconds  # noqa: E402
from tests.harness import ServerProcess, worker_command  # noqa: E402

MIB = 1 << 20
DATASETS = {"large": (4, 256 * MIB, 1), "small": (1000, 64 * 1024, 10)}


def make_dataset(root: Path, count: int, size: int, dirs: int) -> dict[str, str]:
    sums = {}
    for i in range(count):
        rel = f"d{i % dirs:02d}/f{i:05d}.bin" if dirs > 1 else f"f{i:05d}.bin"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = os.urandom(size)
        path.write_bytes(data)
        sums[rel] = hashlib.md5(data, usedforsecurity=False).hexdigest()
    return sums


def check(dst: Path, sums: dict[str, str]) -> None:
    found = {str(p.relative_to(dst)) for p in dst.rglob("*") if p.is_file()}
    assert found == set(sums), f"{dst}: {len(found)} files, expected {len(sums)}"
    for rel, want in sums.items():
        got = hashlib.md5((dst / rel).read_bytes(), usedforsecurity=False).hexdigest()
        assert got == want, f"{dst / rel}: md5 {got} != {want}"




def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=sorted(DATASETS))
    ap.add_argument("--tools", default="haul,rclone,cp")
    ap.add_argument("--worker-args", default="", help="extra `haul worker` flags (not defaults)")
    ap.add_argument("--verbose", action="store_true", help="print when each job expanded")
    ap.add_argument("--profile", help="record the worker with py-spy into this file (raw)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tools = args.tools.split(",")
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(dir="/tmp")))
        files = work / "files"
        srv = ServerProcess(
            home=work / "home",
            db_url=f"sqlite+pysqlite:///{work}/haul.db",
            extra_args=["--file-root", str(files)],
        ).start()
        stack.callback(srv.stop)
        token = srv.new_worker("bench")
        extra = args.worker_args.split()
        spy = [
            "py-spy",
            "record",
            "-r",
            "200",
            "-f",
            "raw",
            "--idle",
            "--threads",
            "-o",
            args.profile,
            "--",
        ]
        worker = subprocess.Popen(
            [
                *(spy if args.profile else []),
                *worker_command(srv.url, token),
                "--concurrency",
                "4",
                *extra,
            ],
            start_new_session=True,
        )

        def stop_worker() -> None:
            if args.profile:  # py-spy writes its profile on SIGINT
                os.kill(worker.pid, signal.SIGINT)
                worker.wait(30)
            os.killpg(worker.pid, signal.SIGKILL)

        stack.callback(stop_worker)
        user = srv.new_user()
        site = user.site("local", [f"file://{files}"])
        client = stack.enter_context(user.client())

        def haul_copy(src: Path, dst: Path) -> None:
            job = client.post(
                "/workqueue/api/v1.0/copy",
                json={
                    "src_siteid": site,
                    "dst_siteid": site,
                    "src_filepath": "/" + str(src.relative_to(files)),
                    "dst_filepath": "/" + str(dst.relative_to(files)),
                },
            ).json()
            cpu0 = cpu_seconds(worker.pid), cpu_seconds(srv.proc.pid)  # type: ignore[union-attr]
            t0, expanded = time.monotonic(), None
            while True:
                st = client.get(f"/workqueue/api/v1.0/jobs/{job['id']}").json()
                if expanded is None and st["num_elements"] > 1:
                    expanded = time.monotonic() - t0
                if st["status"] in ("DONE", "FAILED", "CANCELLED"):
                    break
                time.sleep(0.02)
            assert st["status"] == "DONE", st
            if args.verbose:
                w = cpu_seconds(worker.pid) - cpu0[0]
                sv = cpu_seconds(srv.proc.pid) - cpu0[1]  # type: ignore[union-attr]
                took = time.monotonic() - t0
                print(
                    f"    haul: {took:.2f} s, expanded after {expanded or 0:.2f} s;"
                    f" CPU worker {w:.2f} s, server {sv:.2f} s",
                    flush=True,
                )

        def run(cmd: list[str]) -> Callable[[Path, Path], None]:
            def go(src: Path, dst: Path) -> None:
                subprocess.run([*cmd, str(src), str(dst)], check=True, capture_output=True)

            return go

        copiers = {
            "haul": haul_copy,
            "rclone": run(["rclone", "copy", "--config", "/dev/null"]),
            "cp": run(["cp", "-r"]),
        }
        rclone = subprocess.run(["rclone", "version"], capture_output=True, text=True)
        print(
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{rclone.stdout.splitlines()[0]}"
        )
        # One untimed job first: the server's and the worker's first COPY import
        # and compile what they need (about a second of CPU on this machine).
        warm = files / "warm-up"
        make_dataset(warm, 2, 1024, 1)
        haul_copy(warm, files / "warm-up-copy")
        for name, (count, size, dirs) in DATASETS.items():
            if args.only and name != args.only:
                continue
            src = files / f"src-{name}"
            sums = make_dataset(src, count, size, dirs)
            check(src, sums)  # reads it once: the page cache is warm for every tool
            times: dict[str, list[float]] = {t: [] for t in tools}
            for i in range(args.runs):
                for tool in tools:
                    dst = files / f"dst-{name}-{tool}-{i}"
                    t0 = time.monotonic()
                    copiers[tool](src, dst)
                    times[tool].append(time.monotonic() - t0)
                    check(dst, sums)
                    shutil.rmtree(dst)
            total = count * size
            print(f"\n{name}: {count} x {size // 1024} KiB")
            for tool in tools:
                med = statistics.median(times[tool])
                runs = " · ".join(f"{t:.2f}" for t in times[tool])
                print(
                    f"  {tool:7s} median {med:6.2f} s  {total / med / 1e6:8.0f} MB/s  "
                    f"{count / med:7.0f} files/s   (runs {runs} s)"
                )
            if "haul" in tools and "rclone" in tools:
                ratio = statistics.median(times["rclone"]) / statistics.median(times["haul"])
                print(f"  haul / rclone: {ratio:.2f}x")
            shutil.rmtree(src)


if __name__ == "__main__":
    main()
