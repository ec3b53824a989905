"""haul against xrdcp on the XRootD rows of issue 11, side by side in one run.

Starts XRootD servers on loopback (the test fixtures' configuration: adler32
checksums, and `ofs.tpc` on the pair used for third-party copies), a haul
server and one worker with default settings (`--concurrency 4`), then for
each case runs xrdcp and a haul COPY job of the same directory, alternating,
and checks every copy (count, bytes, adler32 of each file).

    .venv/bin/python bench/xrootd_transfers.py [--runs 3] [--cases small,large,tpc-large]

Cases: small (root:// -> local, 1,000 x 64 KiB in 10 directories), large
(root:// -> local, 4 x 256 MiB), tpc-small (root:// -> root://, 20 x 64 KiB)
and tpc-large (root:// -> root://, 4 x 256 MiB). The peers are
`xrdcp -r --parallel 4` (with and without `--cksum adler32`) and
`xrdcp --tpc only -r --parallel 4`. A haul job is timed from submission to
DONE, LIST and expansion included.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.engine.helpers import fresh_server, running_workers, submit, wait_job  # noqa: E402
from tests.servers.fixtures import _tpc_config, _xrootd  # noqa: E402

SMALL = (1000, 64 * 1024)
LARGE = (4, 256 * 1024 * 1024)
TPC_SMALL = (20, 64 * 1024)


def make_tree(top: Path, count: int, size: int) -> None:
    dirs = 10 if count >= 100 else 1
    for i in range(count):
        d = top / f"d{i % dirs}"
        d.mkdir(parents=True, exist_ok=True)
        with open(d / f"f{i:05d}.bin", "wb") as f:
            left = size
            while left:
                n = min(left, 1 << 20)
                f.write(os.urandom(n))
                left -= n
    subprocess.run(["chown", "-R", "nobody:nogroup", str(top)], check=True)


def adlers(top: Path) -> dict[str, tuple[int, str]]:
    out = {}
    for p in sorted(top.rglob("*")):
        if p.is_file():
            value = 1
            with open(p, "rb") as f:
                while chunk := f.read(1 << 22):
                    value = zlib.adler32(chunk, value)
            out[str(p.relative_to(top))] = (p.stat().st_size, f"{value:08x}")
    return out


def host(endpoint: str) -> str:
    return endpoint.split("//")[1].split("/")[0]


def timed(argv: list[str]) -> float:
    t = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t


def _rate(value: float) -> str:
    return f"{value:,.1f}" if value < 10 else f"{value:,.0f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cases", default="small,large,tpc-small,tpc-large")
    ap.add_argument("--worker-args", default="", help="extra worker flags (defaults: none)")
    args = ap.parse_args()
    cases = args.cases.split(",")
    xrdcp = shutil.which("xrdcp") or sys.exit("xrdcp is missing: apt-get install xrootd-client")
    with ExitStack() as stack:
        plain = stack.enter_context(_xrootd([]))
        tpc_a = stack.enter_context(_xrootd(_tpc_config(xrdcp)))
        tpc_b = stack.enter_context(_xrootd(_tpc_config(xrdcp)))
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-xrootd-")))
        files = work / "files"
        hs = stack.enter_context(fresh_server("sqlite", work, file_root=files))
        user = hs.new_user()
        with hs.admin() as admin:
            sites = {}
            for name, srv in (("plain", plain), ("a", tpc_a), ("b", tpc_b)):
                r = admin.post(
                    "/site/api/v1.0/site",
                    json={
                        "site_name": name,
                        "endpoints": [srv.endpoint_url],
                        "requires_credential": False,
                        "public": True,
                    },
                )
                sites[name] = int(r.json())
        sites["file"] = user.site("file", endpoints=[f"file://{files}"])
        workers = stack.enter_context(
            running_workers(hs, work, n=1, concurrency=4, extra_args=args.worker_args.split())
        )
        client = stack.enter_context(user.client())
        print(f"# {time.strftime('%Y-%m-%d %H:%M')} runs={args.runs} load={os.getloadavg()}")
        for case in cases:
            tpc = case.startswith("tpc")
            count, size = {"small": SMALL, "large": LARGE}.get(case, TPC_SMALL)
            if case == "tpc-large":
                count, size = LARGE
            src_srv, dst_srv = (tpc_a, tpc_b) if tpc else (plain, None)
            assert src_srv.root is not None
            top = src_srv.root / case
            make_tree(top, count, size)
            want = adlers(top)
            peers: dict[str, list[float]] = {}
            mine: list[float] = []
            for run in range(args.runs):
                # -- the peers -------------------------------------------------
                src_url = f"root://{host(src_srv.endpoint_url)}/{top}"
                if tpc:
                    assert dst_srv is not None and dst_srv.root is not None
                    out = dst_srv.root / f"xrdcp-{case}-{run}"
                    out.mkdir()
                    shutil.chown(out, "nobody", "nogroup")
                    dst_url = f"root://{host(dst_srv.endpoint_url)}/{out}/"
                    variants = {"xrdcp --tpc only": ["--tpc", "only", "--cksum", "adler32"]}
                else:
                    out = work / f"xrdcp-{case}-{run}"
                    dst_url = str(out) + "/"
                    variants = {"xrdcp --cksum adler32": ["--cksum", "adler32"], "xrdcp": []}
                for label, extra in variants.items():
                    if out.exists():
                        shutil.rmtree(out)
                    out.mkdir()
                    if tpc:
                        shutil.chown(out, "nobody", "nogroup")
                    argv = [xrdcp, "--nopbar", "-r", "--parallel", "4", *extra, src_url, dst_url]
                    peers.setdefault(label, []).append(timed(argv))
                    assert adlers(out / case) == want, f"{label} copy differs"
                shutil.rmtree(out)
                # -- haul ------------------------------------------------------
                dst_site = sites["b"] if tpc else sites["file"]
                dst_root = dst_srv.root if tpc and dst_srv else files
                t = time.monotonic()
                job = submit(
                    client,
                    type="COPY",
                    src_siteid=sites["a" if tpc else "plain"],
                    src_filepath=f"/{case}",
                    dst_siteid=dst_site,
                    dst_filepath=f"/haul-{case}-{run}",
                    extra_opts={"checksum": "adler32", "verify": True},
                )
                view = wait_job(client, job, timeout=1800, workers=workers)
                mine.append(time.monotonic() - t)
                assert view["status"] == "DONE", view
                assert dst_root is not None
                assert adlers(dst_root / f"haul-{case}-{run}") == want, "haul copy differs"
                shutil.rmtree(dst_root / f"haul-{case}-{run}")
            unit, amount = ("files/s", count) if size < (1 << 20) else ("MB/s", count * size / 1e6)
            h = amount / statistics.median(mine)
            runs = ", ".join(_rate(amount / s) for s in mine)
            print(f"{case}: haul {_rate(h)} {unit} (runs {runs})")
            for label, times in peers.items():
                p = amount / statistics.median(times)
                runs = ", ".join(_rate(amount / s) for s in times)
                print(f"{case}:   {label} {_rate(p)} {unit} (runs {runs}); haul/peer {h / p:.2f}")
            shutil.rmtree(top)


if __name__ == "__main__":
    main()
