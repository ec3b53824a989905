"""webdav-large and sftp-large in process: the copy engine's CPU per GiB, old against new.

Why: `bench/transfers.py` times whole COPY jobs (server, queue, worker loop);
on a shared 2-core VM its wall-clock rates swing by 2x. This runs only the
copy path, `copy_file` from the bench's Apache (HTTPS, mod_dav) or sshd to a
local directory, 4 files of 256 MiB in 4 threads as the default worker does,
adler32 verified, and reports the CPU seconds per GiB of the copying process
and of the storage server. Each round runs every tree (`--trees`: a `src`
directory per label, e.g. old=/tmp/old/src) in a fresh subprocess, in turn,
so drift hits them alike.

    .venv/bin/python bench/large_micro.py --cases dav,sftp --rounds 3 \
        --trees old=/tmp/big-old/src,new=src
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.transferbench import datasets, servers  # noqa: E402
from bench.transferbench.server_cpu import server_cpu  # noqa: E402

GIB = 1 << 30

_CHILD = r"""
import json, os, resource, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from haul.storage.copy import copy_file
from haul.storage.local import LocalStorage
from haul.storage.schemes import open_storage
url, cred, files, dest = json.loads(sys.argv[1])
src = open_storage(url, cred)
dst = LocalStorage([dest])
def one(p):
    return copy_file(src, p, dst, os.path.join(dest, os.path.basename(p)), checksum="adler32")
t0 = time.monotonic(); r0 = resource.getrusage(resource.RUSAGE_SELF)
with ThreadPoolExecutor(4) as pool:
    results = list(pool.map(one, files))
r1 = resource.getrusage(resource.RUSAGE_SELF); t1 = time.monotonic()
print(json.dumps({
    "wall": t1 - t0, "user": r1.ru_utime - r0.ru_utime, "sys": r1.ru_stime - r0.ru_stime,
    "bytes": sum(r.bytes for r in results), "verified": results[0].verified,
}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="dav,sftp")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--trees", default="new=src")
    ap.add_argument("--work", default="/tmp/bench-big")
    ap.add_argument("--spy", default="", help="record each copy with py-spy --gil here")
    ap.add_argument("--perf", default="", help="record each copy with `perf record -g` here")
    args = ap.parse_args()
    work = Path(args.work)
    trees = [t.split("=", 1) for t in args.trees.split(",")]
    data = datasets.make("large", work / "data")
    datasets.warm(data)
    dest = work / "micro-dst"
    with contextlib.ExitStack() as stack:
        sites = {}
        for kind in args.cases.split(","):
            if kind == "dav":
                s = stack.enter_context(servers.apache(work / "micro-apache"))
                datasets.link_into(data, s.root, s.owner)
                url = f"https://{s.host_port}/dav"
                cred = {**s.credential, "ca_cert": str(s.ca_file)}
                files = [f"/dav/large/{rel}" for rel in sorted(data.manifest)]
            else:
                s = stack.enter_context(servers.sshd(work))
                url, cred = f"sftp://{s.host_port}/", dict(s.credential)
                files = [str(data.path / rel) for rel in sorted(data.manifest)]
            sites[kind] = (url, cred, files, int(s.host_port.rsplit(":", 1)[1]))
        for rnd in range(args.rounds):
            for kind, (url, cred, files, port) in sites.items():
                for label, tree in trees:
                    shutil.rmtree(dest, ignore_errors=True)
                    dest.mkdir(parents=True)
                    before = server_cpu([port])
                    env = {**os.environ, "PYTHONPATH": str(Path(tree).resolve())}
                    spy = (
                        [
                            "perf",
                            "record",
                            *os.environ.get("BIG_PERF", "-g").split(),
                            "-q",
                            "-o",
                            f"{args.perf}/{kind}-{label}-{rnd + 1}.data",
                            "--",
                        ]
                        if args.perf
                        else []
                    )
                    if args.spy:  # py-spy's samples of the GIL holder, raw stacks
                        spy = [
                            str(Path(sys.executable).parent / "py-spy"),
                            "record",
                            "--rate",
                            "200",
                            "--gil",
                            "--threads",
                            "--format",
                            "raw",
                            "-o",
                            f"{args.spy}/{kind}-{label}-{rnd + 1}.txt",
                            "--",
                        ]
                    out = subprocess.run(
                        [
                            *spy,
                            sys.executable,
                            "-c",
                            _CHILD,
                            json.dumps([url, cred, files, str(dest)]),
                        ],
                        env=env,
                        capture_output=True,
                        text=True,
                        check=False,
                    )
                    served = server_cpu([port]) - before
                    if out.returncode:
                        print(f"{kind} {label}: FAILED {out.stderr[-800:]}", flush=True)
                        continue
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    gib = r["bytes"] / GIB
                    load = os.getloadavg()[0]
                    rate = r["bytes"] / r["wall"] / 1e6
                    print(
                        f"round {rnd + 1} {kind:4s} {label:4s}: {rate:7.1f} MB/s"
                        f"  copier CPU {(r['user'] + r['sys']) / gib:5.2f} s/GiB"
                        f" (user {r['user'] / gib:.2f}, sys {r['sys'] / gib:.2f})"
                        f"  server CPU {served / gib:5.2f} s/GiB  load {load:4.1f}"
                        f"  [{r['verified']}]",
                        flush=True,
                    )
        shutil.rmtree(dest, ignore_errors=True)


if __name__ == "__main__":
    main()
