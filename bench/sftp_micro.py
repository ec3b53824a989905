"""SFTP read path, measured in isolation: OpenSSH `sftp` against haul's
SFTPStorage and candidate client libraries, on the same sshd and the same data.

    .venv/bin/python bench/sftp_micro.py [--runs 3] [--methods openssh,haul,...]
        [--only small|large]

Starts the test sshd (tests/servers/fixtures.py `run_sshd`), makes the
datasets (1,000 x 64 KiB in 10 directories; 4 x 256 MiB random) and copies
each to a fresh local directory with every method, 4 files at a time where
the method has parallelism of its own (haul: 4 threads, each with its own
connection kept across runs, as a worker's StorageCache keeps them). Every
copy is checked afterwards (count, bytes, adler32 of each file). Each method
runs in its own process that lives across the rounds, so its peak RSS is
its own and connections live across runs as in a long-running worker; each
round runs every method once, back to back. Besides the rate each method's
CPU seconds are printed (client: its process; server: the sshd sessions),
which a shared, noisy machine disturbs far less than wall time.

Methods: openssh (`sftp -r` / `sftp` batch, one process, its defaults),
haul (SFTPStorage through storage.copy_file, adler32 verified), haul-old
(the same from the tree in $SFTP_MICRO_OLD_SRC, e.g. `git archive <commit> src`),
paramiko-prefetch (paramiko, whole-file prefetch: the old haul reader),
paramiko-bounded (prefetch with max_concurrent_requests=64) (these two and
haul-old need `pip install paramiko`, no longer a dependency of haul),
asyncssh (N outstanding reads of the server's block size per file).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# `haul-old` runs haul from another source tree (e.g. `git archive <commit> src`).
_OLD = "--method" in sys.argv and sys.argv[sys.argv.index("--method") + 1] == "haul-old"
sys.path.insert(0, os.environ["SFTP_MICRO_OLD_SRC"] if _OLD else str(ROOT / "src"))

SMALL = (1000, 64 * 1024, 10)  # files, bytes each, directories
LARGE = (4, 256 * 1024 * 1024)
THREADS = 4
METHODS = ("openssh", "haul", "haul-old", "paramiko-prefetch", "paramiko-bounded", "asyncssh")


def _adler(path: Path) -> int:
    value = 1
    with open(path, "rb") as handle:
        while chunk := handle.read(4 << 20):
            value = zlib.adler32(chunk, value)
    return value


def make_datasets(root: Path) -> dict[str, dict[str, tuple[int, int]]]:
    """Random files; returns {dataset: {relative path: (size, adler32)}}."""
    sums: dict[str, dict[str, tuple[int, int]]] = {"small": {}, "large": {}}
    count, size, dirs = SMALL
    for i in range(count):
        rel = f"d{i % dirs}/f{i:04d}"
        path = root / "small" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = os.urandom(size)
        path.write_bytes(data)
        sums["small"][rel] = (size, zlib.adler32(data))
    (root / "large").mkdir()
    for i in range(LARGE[0]):
        rel = f"f{i}"
        with open(root / "large" / rel, "wb") as handle:
            for _ in range(LARGE[1] // (16 << 20)):
                handle.write(os.urandom(16 << 20))
        sums["large"][rel] = (LARGE[1], _adler(root / "large" / rel))
    return sums


def check_copy(dest: Path, expected: dict[str, tuple[int, int]]) -> None:
    found = {str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()}
    if found != set(expected):
        raise SystemExit(f"{dest}: {len(found)} files, expected {len(expected)}")
    for rel, (size, adler) in expected.items():
        path = dest / rel
        if path.stat().st_size != size or _adler(path) != adler:
            raise SystemExit(f"{path}: wrong size or content")


def server_cpu(root: str) -> float:
    """CPU seconds used so far by the sshd serving `root` and its sessions
    (which leave its process group): live descendants plus reaped ones."""
    top = int((Path(root).parent / "sshd.pid").read_text())
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[int, float, float]] = {}  # pid: (ppid, own, reaped children)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        own = int(fields[11]) + int(fields[12])  # utime, stime
        procs[int(entry.name)] = (int(fields[1]), own, int(fields[13]) + int(fields[14]))
    total, todo = 0.0, [top]
    while todo:
        pid = todo.pop()
        if pid in procs:
            total += procs[pid][1] + (procs[pid][2] if pid == top else 0)
            todo.extend(child for child, (ppid, _, _) in procs.items() if ppid == pid)
    return total / tick


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class PeakRSS:
    """Samples this process's RSS every 20 ms; `peak` in MB."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.wait(0.02):
            with open("/proc/self/statm") as handle:
                rss = int(handle.read().split()[1]) * page / 1e6
            self.peak = max(self.peak, rss)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


# -- one process per method ------------------------------------------------------


def _files(src_root: str, dataset: str, expected: dict[str, tuple[int, int]]) -> list[str]:
    return sorted(expected)


def _parallel(items: list[str], work: Callable[[str], None], make: Callable[[], object]) -> None:
    """Runs `work` over `items` on THREADS threads; errors stop the run."""
    todo: queue.Queue[str] = queue.Queue()
    for item in items:
        todo.put(item)
    errors: list[BaseException] = []

    def run() -> None:
        while not errors:
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                work(item)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _haul_runner(
    url: str, credential: dict, shared: bool = False
) -> Callable[[str, Path, list[str]], None]:
    from haul.storage import copy_file, open_storage
    from haul.storage.local import LocalStorage

    local = threading.local()
    dst = LocalStorage()
    one = open_storage(url, credential) if shared else None

    def run(src_dir: str, dest: Path, rels: list[str]) -> None:
        def work(rel: str) -> None:
            storage = one or getattr(local, "storage", None)
            if storage is None:
                storage = local.storage = open_storage(url, credential)
            copy_file(storage, f"{src_dir}/{rel}", dst, str(dest / rel), checksum="adler32")

        _parallel(rels, work, lambda: None)

    return run


def _paramiko_runner(
    url: str, credential: dict, bounded: bool
) -> Callable[[str, Path, list[str]], None]:
    import io

    import paramiko

    parts = urlsplit(url)
    local = threading.local()

    def connect() -> paramiko.SFTPClient:
        transport = paramiko.Transport((parts.hostname, parts.port))
        transport.connect(
            username="root",
            pkey=paramiko.Ed25519Key.from_private_key(io.StringIO(credential["private_key"])),
        )
        return paramiko.SFTPClient.from_transport(transport)

    def run(src_dir: str, dest: Path, rels: list[str]) -> None:
        def work(rel: str) -> None:
            sftp = getattr(local, "sftp", None)
            if sftp is None:
                sftp = local.sftp = connect()
            path = f"{src_dir}/{rel}"
            size = sftp.stat(path).st_size
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            adler = 1
            with sftp.open(path, "rb") as handle, open(target, "wb") as out:
                handle.prefetch(size, 64 if bounded else None)
                while chunk := handle.read(4 << 20):
                    adler = zlib.adler32(chunk, adler)
                    out.write(chunk)

        _parallel(rels, work, lambda: None)

    return run


def _asyncssh_runner(url: str, credential: dict) -> Callable[[str, Path, list[str]], None]:
    import asyncio
    import collections

    import asyncssh

    parts = urlsplit(url)
    key = asyncssh.import_private_key(credential["private_key"])
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    clients: list[asyncssh.SFTPClient] = []
    outstanding = 16

    async def connect() -> asyncssh.SFTPClient:
        conn = await asyncssh.connect(
            parts.hostname,
            parts.port,
            username="root",
            client_keys=[key],
            known_hosts=None,
            agent_path=None,
        )
        return await conn.start_sftp_client()

    async def copy(sftp: asyncssh.SFTPClient, path: str, target: Path) -> None:
        block = sftp.limits.max_read_len
        size = (await sftp.stat(path)).size
        adler = 1
        target.parent.mkdir(parents=True, exist_ok=True)
        async with sftp.open(path, "rb") as handle:
            with open(target, "wb") as out:
                pending: collections.deque = collections.deque()
                offset = 0
                while offset < size or pending:
                    while offset < size and len(pending) < outstanding:
                        pending.append(asyncio.ensure_future(handle.read(block, offset)))
                        offset += block
                    chunk = await pending.popleft()
                    adler = zlib.adler32(chunk, adler)
                    out.write(chunk)

    async def run_all(src_dir: str, dest: Path, rels: list[str]) -> None:
        while len(clients) < THREADS:
            clients.append(await connect())
        todo = list(rels)

        async def lane(sftp: asyncssh.SFTPClient) -> None:
            while todo:
                rel = todo.pop()
                await copy(sftp, f"{src_dir}/{rel}", dest / rel)

        await asyncio.gather(*(lane(c) for c in clients))

    def run(src_dir: str, dest: Path, rels: list[str]) -> None:
        asyncio.run_coroutine_threadsafe(run_all(src_dir, dest, rels), loop).result()

    return run


def child(args: argparse.Namespace) -> None:
    """One method, all runs, in this process; prints one JSON line per run."""
    server = json.loads(args.server)
    expected = json.loads(args.expected)
    src_dir = f"{server['root']}/{args.dataset}"
    rels = sorted(expected)
    url, credential = server["url"], server["credential"]
    runner = {
        "haul": lambda: _haul_runner(url, credential),
        "haul-old": lambda: _haul_runner(url, credential),
        "haul-shared": lambda: _haul_runner(url, credential, shared=True),
        "paramiko-prefetch": lambda: _paramiko_runner(url, credential, False),
        "paramiko-bounded": lambda: _paramiko_runner(url, credential, True),
        "asyncssh": lambda: _asyncssh_runner(url, credential),
    }[args.method]()
    # One run per line on stdin, so the parent can interleave the methods.
    for _ in sys.stdin:
        dest = Path(tempfile.mkdtemp(prefix="sftp-micro-", dir=args.scratch))
        rss = PeakRSS()
        start, cpu = time.perf_counter(), _cpu_self()
        runner(src_dir, dest, rels)
        seconds, cpu = time.perf_counter() - start, _cpu_self() - cpu
        peak = rss.stop()
        check_copy(dest, {k: tuple(v) for k, v in expected.items()})
        shutil.rmtree(dest)
        print(json.dumps({"seconds": seconds, "rss_mb": peak, "cpu": cpu}), flush=True)


def openssh(server: dict, dataset: str, scratch: Path, expected: dict) -> dict:
    parts = urlsplit(server["url"])
    dest = Path(tempfile.mkdtemp(prefix="sftp-micro-", dir=scratch))
    src = f"{server['root']}/{dataset}"
    batch = f"get -r {src}/* {dest}/\n" if dataset == "small" else f"get {src}/* {dest}/\n"
    argv = [
        "sftp",
        "-q",
        "-b",
        "-",
        "-i",
        server["key_file"],
        "-P",
        str(parts.port),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "IdentityAgent=none",
        "-o",
        "LogLevel=ERROR",
        f"root@{parts.hostname}",
    ]
    start, cpu = time.perf_counter(), _cpu_children()
    subprocess.run(argv, input=batch.encode(), check=True, stdout=subprocess.DEVNULL)
    seconds, cpu = time.perf_counter() - start, _cpu_children() - cpu
    check_copy(dest, expected)
    shutil.rmtree(dest)
    return {"seconds": seconds, "rss_mb": None, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--only", choices=("small", "large"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--method", help=argparse.SUPPRESS)
    parser.add_argument("--dataset", help=argparse.SUPPRESS)
    parser.add_argument("--server", help=argparse.SUPPRESS)
    parser.add_argument("--expected", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    from tests.servers.fixtures import run_sshd

    datasets = [args.only] if args.only else ["small", "large"]
    with run_sshd() as server, tempfile.TemporaryDirectory(prefix="sftp-micro-") as scratch:
        assert server.root is not None
        key_file = Path(scratch) / "client_key"
        key_file.write_text(server.credential["private_key"])
        key_file.chmod(0o600)
        info = {
            "url": server.endpoint_url,
            "credential": server.credential,
            "root": str(server.root),
            "key_file": str(key_file),
        }
        print("making datasets ...", flush=True)
        sums = make_datasets(server.root)
        for dataset in datasets:
            run_dataset(args, info, dataset, sums[dataset], scratch)


def run_dataset(
    args: argparse.Namespace, info: dict, dataset: str, expected: dict, scratch: str
) -> None:
    """Runs every method once per round, methods side by side in each round."""
    methods = args.methods.split(",")
    children: dict[str, subprocess.Popen[str]] = {}
    for method in methods:
        if method != "openssh":
            children[method] = subprocess.Popen(
                [
                    sys.executable, __file__, "--child", "--method", method,
                    "--dataset", dataset, "--server", json.dumps(info),
                    "--expected", json.dumps(expected), "--scratch", scratch,
                ],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
    results: dict[str, list[dict]] = {m: [] for m in methods}
    try:
        for _ in range(args.runs):
            for method in methods:
                before = server_cpu(info["root"])
                if method == "openssh":
                    result = openssh(info, dataset, Path(scratch), expected)
                else:
                    child = children[method]
                    assert child.stdin is not None and child.stdout is not None
                    child.stdin.write("go\n")
                    child.stdin.flush()
                    line = child.stdout.readline()
                    if not line:
                        raise SystemExit(f"{method} failed")
                    result = json.loads(line)
                result["server_cpu"] = server_cpu(info["root"]) - before
                results[method].append(result)
    finally:
        for child in children.values():
            if child.stdin:
                child.stdin.close()
            child.wait()
    total = sum(size for size, _ in expected.values())
    unit = "files/s" if dataset == "small" else "MB/s"
    for method in methods:
        times = [r["seconds"] for r in results[method]]
        rates = [len(expected) / t if dataset == "small" else total / 1e6 / t for t in times]
        rss = [r["rss_mb"] for r in results[method] if r["rss_mb"] is not None]
        cpu = statistics.median(r["cpu"] for r in results[method])
        server = statistics.median(r["server_cpu"] for r in results[method])
        print(
            f"{dataset:5} {method:18} median {statistics.median(rates):8.1f} {unit}"
            f"  runs {' '.join(f'{r:.1f}' for r in rates)}"
            f"  CPU s client {cpu:.2f} server {server:.2f}"
            + (f"  peak RSS {max(rss):.0f} MB" if rss else ""),
            flush=True,
        )


if __name__ == "__main__":
    main()
