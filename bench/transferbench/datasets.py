"""The benchmark's two datasets, their manifests, and the check of every copy.

`small`: 1,000 files of 64 KiB in 10 directories; `large`: 4 files of 256 MiB.
Both are random bytes (nothing compresses), made once under the work
directory and reused by later invocations while their manifest still matches.
Every copy, haul's and each peer tool's, is compared with the manifest:
number of files, total bytes and the SHA-256 of every file; anything extra
(a leftover temporary, say) fails the check too.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

KIB, MIB = 1024, 1024 * 1024

# name -> (directories, files per directory, file size); 0 directories: flat.
SHAPES: dict[str, tuple[int, int, int]] = {
    "small": (10, 100, 64 * KIB),
    "large": (0, 4, 256 * MIB),
}


@dataclass(frozen=True)
class Dataset:
    name: str
    path: Path
    manifest: dict[str, tuple[int, str]]  # relative path -> (size, sha256)

    @property
    def files(self) -> int:
        return len(self.manifest)

    @property
    def bytes(self) -> int:
        return sum(size for size, _ in self.manifest.values())


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _relpaths(name: str) -> list[str]:
    dirs, per_dir, _ = SHAPES[name]
    if dirs == 0:
        return [f"f{i}.bin" for i in range(per_dir)]
    return [f"d{d:02}/f{i:03}.bin" for d in range(dirs) for i in range(per_dir)]


def make(name: str, base: Path) -> Dataset:
    """The dataset under ``base/name``, made (or remade) unless its manifest fits."""
    path, manifest_file = base / name, base / f"{name}.manifest.json"
    wanted = _relpaths(name)
    size = SHAPES[name][2]
    if manifest_file.exists():
        saved = {k: (v[0], v[1]) for k, v in json.loads(manifest_file.read_text()).items()}
        on_disk_ok = sorted(saved) == sorted(wanted) and all(
            (path / rel).is_file() and (path / rel).stat().st_size == saved[rel][0]
            for rel in wanted
        )
        if on_disk_ok:
            return Dataset(name, path, saved)
    shutil.rmtree(path, ignore_errors=True)
    manifest: dict[str, tuple[int, str]] = {}
    for rel in wanted:
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        data = os.urandom(size)
        target.write_bytes(data)
        manifest[rel] = (size, hashlib.sha256(data).hexdigest())
    # Every server account (nobody, www-data) reads the sources.
    subprocess.run(["chmod", "-R", "a+rX", str(base)], check=True)
    manifest_file.write_text(json.dumps(manifest))
    return Dataset(name, path, manifest)


def warm(dataset: Dataset) -> None:
    """Reads every file once, so each run starts with the page cache warm."""
    for rel in dataset.manifest:
        with open(dataset.path / rel, "rb") as handle:
            while handle.read(8 * MIB):
                pass


def link_into(dataset: Dataset, root: Path, owner: str | None = None) -> None:
    """Hard links of the dataset under a server's export root: same inodes,
    so the same warm pages, and no second GiB on disk.

    `owner`: the server's account, made the files' owner, as the files a
    server stores are at a real site (it wrote them). XRootD keeps the
    checksum it computed in an extended attribute of the file (XrdCks), and
    answers later queries from it, but only where it may write to the file:
    root-owned files made it log "Unable to set attr XrdCks.adler32 ...
    permission denied" and read the whole file again for every query. The
    links share the inodes, so the dataset's files change owner everywhere;
    every account still reads them."""
    target = root / dataset.name
    if target.exists():
        shutil.rmtree(target)
    subprocess.run(["cp", "-al", str(dataset.path), str(target)], check=True)
    if owner is not None:
        subprocess.run(["chown", "-R", f"{owner}:", str(target)], check=True)


# Destinations of many files are moved here, not deleted, until the benchmark
# ends. This machine's ext4 has no journal, and without one ext4 will not
# reuse an inode deleted in the last ~15 s: each create scans past them
# (`recently_deleted` in `find_inode_bit`, ~48% of the worker's CPU in a
# perf profile of local-small). Deleting 1,000 files right before the next
# tool's run made every small-file run pay it, whichever tool it was.
RETIRE_FROM_FILES = 100


def empty(path: Path, trash: Path | None = None) -> None:
    """A destination made ready for the next run: removed (or, holding many
    files, moved into `trash`), and its dirty pages written back (untimed),
    so one run's writeback does not slow the next."""
    if trash is not None and path.is_dir() and _more_files_than(path, RETIRE_FROM_FILES):
        trash.mkdir(parents=True, exist_ok=True)
        path.rename(trash / f"{path.name}-{time.monotonic_ns()}")
    else:
        shutil.rmtree(path, ignore_errors=True)
    os.sync()


def _more_files_than(path: Path, limit: int) -> bool:
    count = 0
    for _root, _dirs, files in os.walk(path):
        count += len(files)
        if count > limit:
            return True
    return False


def check(dataset: Dataset, dest: Path) -> str | None:
    """None if ``dest`` holds exactly the dataset, else what is wrong.

    Tools differ in whether ``copy SRC DST`` makes DST the copy or puts it in
    DST/<name> (xrdcp -r); both are accepted, nothing else.
    """
    if not dest.is_dir():
        return f"{dest} does not exist"
    entries = list(dest.iterdir())
    if len(entries) == 1 and entries[0].name == dataset.name and entries[0].is_dir():
        first = next(iter(dataset.manifest)).split("/")[0]
        if not (dest / first).exists():
            dest = entries[0]
    found: dict[str, int] = {}
    for dirpath, _dirs, files in os.walk(dest):
        for name in files:
            full = Path(dirpath) / name
            found[str(full.relative_to(dest))] = full.stat().st_size
    missing = sorted(set(dataset.manifest) - set(found))
    extra = sorted(set(found) - set(dataset.manifest))
    if missing or extra:
        return (
            f"{len(found)} files instead of {dataset.files}; "
            f"missing {missing[:3]}, extra {extra[:3]}"
        )
    total = sum(found.values())
    if total != dataset.bytes:
        return f"{total} bytes instead of {dataset.bytes}"
    for rel, (_size, digest) in dataset.manifest.items():
        if _sha256(dest / rel) != digest:
            return f"{rel}: content differs (SHA-256)"
    return None
