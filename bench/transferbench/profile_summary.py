"""Where a profiled worker spent its time: `--profile` files summarised.

    .venv/bin/python bench/transferbench/profile_summary.py /tmp/prof/sftp-small-run1.txt

py-spy's raw output has one line per distinct stack (``thread (id): name;frame;...
count``, idle samples included). Samples are grouped by thread kind (the
element threads, the worker's main loop, ...) and, inside each, by the
innermost frame of haul's own code, which says which step (claiming, listing,
an open, a read, a rename, waiting for work) the time went to; the library
frame under it says what it was waiting on.
"""

from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path

_THREAD = re.compile(r"^thread \(\w+\): ([^;]*);?")


def _kind(thread_name: str) -> str:
    return re.sub(r"[-_]?\d+$", "", thread_name) or "?"


def summarise(path: Path, top: int = 12) -> str:
    by_kind: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    threads: dict[str, set[str]] = collections.defaultdict(set)
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        match = _THREAD.match(stack)
        name = match.group(1) if match else "?"
        frames = stack.split(";")[1:] if match else stack.split(";")
        ours = [i for i, f in enumerate(frames) if "haul/" in f]
        if ours:
            inner = frames[ours[-1]]
            below = frames[ours[-1] + 1] if ours[-1] + 1 < len(frames) else ""
            key = f"{inner}  <- {below}" if below else inner
        else:
            key = frames[-1] if frames else "?"
        kind = _kind(name)
        by_kind[kind][key] += int(count)
        threads[kind].add(name)
    out = [f"{path.name}:"]
    for kind, counter in sorted(by_kind.items(), key=lambda kv: -sum(kv[1].values())):
        total = sum(counter.values())
        out.append(f"  {kind} ({len(threads[kind])} threads, {total} samples)")
        for key, n in counter.most_common(top):
            out.append(f"    {n / total:6.1%}  {key}")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    for f in args.files:
        print(summarise(f, args.top))


if __name__ == "__main__":
    main()
