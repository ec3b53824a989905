"""Transfer benchmark: haul's COPY jobs beside the tools a user would run instead.

Starts real servers on 127.0.0.1 with random ports (OpenSSH sshd, two XRootD
servers for third-party copy, Apache with mod_dav over HTTPS, moto for S3), a
haul server (SQLite, temporary home) and one haul worker with default settings
(`--concurrency 4`), makes the datasets (1,000 x 64 KiB in 10 directories;
4 x 256 MiB, random bytes) and, per case, runs haul and the peer tools on the
same data, back to back, ``--runs`` times (median reported). haul is timed from
submitting one COPY job of the directory until the job is DONE, with the
default options (adler32, verified). Every copy of every tool is checked
(file count, bytes, SHA-256 of each file) and the destination emptied before
the next run; the page cache is warm.

    .venv/bin/python bench/transfers.py                      # every case, 3 runs
    .venv/bin/python bench/transfers.py --cases sftp-small,root-large --runs 1
    .venv/bin/python bench/transfers.py --json out.json --resume   # skip cases done

Needs root (sshd, xrootd -R nobody, Apache) and the packages of
scripts/bench-apt-packages.txt; `make bench` installs them and runs this.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from transferbench import report  # noqa: E402
from transferbench.cases import BY_NAME, CASES  # noqa: E402
from transferbench.runner import Bench  # noqa: E402


def _parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = ", ".join(c.name + (" (optional)" if c.optional else "") for c in CASES)
    ap.add_argument("--cases", default="all", help=f"comma-separated, or 'all': {names}")
    ap.add_argument("--runs", type=int, default=3, help="runs per tool and case (median)")
    ap.add_argument("--json", type=Path, help="write the results here, after every case")
    ap.add_argument(
        "--resume", action="store_true", help="keep the cases already in --json, run the rest"
    )
    ap.add_argument(
        "--work",
        type=Path,
        default=Path(tempfile.gettempdir()) / "haul-bench",
        help="datasets (kept and reused) and servers' directories",
    )
    ap.add_argument(
        "--profile",
        type=Path,
        help="record the worker with py-spy during haul's runs (collapsed stacks per run "
        "in this directory; sampling costs some speed, so profiled figures are marked)",
    )
    ap.add_argument(
        "--tools",
        help="run only these (comma-separated: haul, sftp, rclone-sftp-hash, xrdcp, ...)",
    )
    ap.add_argument(
        "--print", action="store_true", help="only print the table of the results in --json"
    )
    args = ap.parse_args()
    if args.cases == "all":
        args.selected = CASES
    else:
        unknown = [n for n in args.cases.split(",") if n not in BY_NAME]
        if unknown:
            ap.error(f"unknown case(s) {', '.join(unknown)}; known: {names}")
        args.selected = [BY_NAME[n] for n in args.cases.split(",")]
    if (args.resume or args.print) and not args.json:
        ap.error("--resume and --print need --json")
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    return args


def _save(path: Path | None, meta: dict[str, Any], results: list[dict[str, Any]]) -> None:
    if path is not None:
        path.write_text(json.dumps({"machine": meta, "results": results}, indent=2))


def _print(results: list[dict[str, Any]]) -> None:
    order = {c.name: i for i, c in enumerate(CASES)}
    results.sort(key=lambda r: order.get(r["case"], 99))
    print(report.table(results))
    print()
    print(report.rss_verdict(results))


def main() -> None:
    args = _parse()
    if args.print:
        saved = json.loads(args.json.read_text())
        print(saved["machine"])
        _print(saved["results"])
        return
    # SIGTERM (e.g. from `timeout`) becomes an exception, so every server stops.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    meta = report.machine()
    meta.update(runs=args.runs, command=" ".join(["bench/transfers.py", *sys.argv[1:]]))
    meta["profiled"] = args.profile is not None
    results: list[dict[str, Any]] = []
    if args.resume and args.json.exists():
        results = [r for r in json.loads(args.json.read_text())["results"] if r["status"] == "ok"]
    done = {r["case"] for r in results}
    print(
        f"{meta['date']}: {meta['nproc']} x {meta['cpu']}, {meta['ram_gib']} GiB, "
        f"commit {meta['commit']}, {args.runs} runs per tool",
        flush=True,
    )
    with contextlib.ExitStack() as stack:
        bench = Bench(args.work, stack, args.profile)
        for case in args.selected:
            if case.name in done:
                print(f"{case.name}: kept from {args.json}", flush=True)
                continue
            t0 = time.monotonic()
            print(f"{case.name}: ...", flush=True)
            only = set(args.tools.split(",")) if args.tools else None
            result = bench.run_case(case, args.runs, sys.stdout, only)
            result["wall_seconds"] = round(time.monotonic() - t0, 1)
            if result["status"] != "ok":
                print(f"{case.name}: not run: {result['why']}", flush=True)
            results = [r for r in results if r["case"] != case.name] + [result]
            _save(args.json, meta, results)
    _save(args.json, meta, results)
    print()
    _print(results)


if __name__ == "__main__":
    main()
