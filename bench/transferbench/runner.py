"""Runs one case: haul and every peer tool on the same data, back to back,
``runs`` times, each copy checked and its destination emptied before the next.

Servers start on first use and live until the benchmark ends; a server that
cannot start makes its cases "not run" with the reason, never skipped
silently. Tools take turns within each round (haul, peer 1, peer 2, ...,
then the next round), so a slow drift of the shared machine hits all alike.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from . import datasets, servers
from .cases import PEER_LABELS, Case
from .haul_side import HaulRig
from .peers import Peers, Side
from .server_cpu import server_cpu
from .servers import NotAvailable, Server

# The XRootD servers spoken to over HTTPS (their HTTP plugin, WebDAV with HTTP-TPC):
# haul's sites for these kinds are davs:// endpoints of the same servers, while the
# peers (xrdcp) still use root://.
HTTPS_OF = {"roots": "root", "roots2": "root2"}
RUN_TIMEOUT = 300.0  # per run; the slowest haul run seen so far took ~70 s
HAUL = "haul"


class Bench:
    def __init__(
        self, work: Path, stack: contextlib.ExitStack, profile_dir: Path | None = None
    ) -> None:
        self.work, self.stack = work, stack
        work.mkdir(parents=True, exist_ok=True)
        work.chmod(0o755)
        self.data: dict[str, datasets.Dataset] = {}
        self._servers: dict[str, Server | NotAvailable] = {}
        self._placed: set[tuple[str, str]] = set()
        self.peers = Peers(work / "peers")
        # Many-file destinations wait here until the end (datasets.RETIRE_FROM_FILES).
        self.trash = work / "trash"
        shutil.rmtree(self.trash, ignore_errors=True)
        stack.callback(shutil.rmtree, self.trash, True)
        self.peer_cpu = 0.0  # CPU seconds of the last peer run (the tool and its children)
        self.rig = HaulRig(work, file_root=work, profile_dir=profile_dir).start()
        stack.callback(self.rig.stop)

    def dataset(self, name: str) -> datasets.Dataset:
        if name not in self.data:
            self.data[name] = datasets.make(name, self.work / "data")
        return self.data[name]

    def server(self, kind: str) -> Server:
        """The server of this kind, started on first use; a failure is remembered."""
        if kind in HTTPS_OF:
            return self.server(HTTPS_OF[kind])
        if kind not in self._servers:
            try:
                if kind == "sftp":
                    cm: Any = servers.sshd(self.work / "sshd")
                elif kind in ("root", "root2"):
                    cm = servers.xrootd(kind, self.work)
                elif kind == "dav":
                    cm = servers.apache(self.work / "apache")
                elif kind == "s3":
                    cm = servers.moto()
                else:
                    raise ValueError(kind)
                self._servers[kind] = self.stack.enter_context(cm)
            except NotAvailable as exc:
                self._servers[kind] = exc
        found = self._servers[kind]
        if isinstance(found, NotAvailable):
            raise found
        return found

    # -- where each side of a case is ----------------------------------------------

    def _place(self, kind: str, ds: datasets.Dataset) -> None:
        """The dataset made visible on a source server (once per server)."""
        kind = HTTPS_OF.get(kind, kind)
        if (kind, ds.name) in self._placed:
            return
        srv = self.server(kind)
        if kind in ("root", "dav"):
            assert srv.root is not None
            # XRootD stores the checksums it computes with the file, as at a site.
            datasets.link_into(ds, srv.root, owner=srv.owner if kind == "root" else None)
        elif kind == "s3":
            cmd = self.peers.rclone(Side(None, str(ds.path)), Side(srv, ds.name), "default")
            subprocess.run(cmd.argv, env=_env(cmd.env), check=True, timeout=RUN_TIMEOUT)
        self._placed.add((kind, ds.name))

    def source(self, case: Case, ds: datasets.Dataset) -> tuple[Side, int, str]:
        """The peers' source, and haul's (site id, job path)."""
        if case.src == "local":
            return Side(None, str(ds.path)), self.rig.site("file", None), f"/data/{ds.name}"
        srv = self.server(case.src)
        self._place(case.src, ds)
        site = self.rig.site(case.src, srv)
        if case.src == "sftp":
            return Side(srv, str(ds.path)), site, str(ds.path)
        return Side(srv, ds.name), site, f"/{ds.name}"

    def destination(self, case: Case, tool: str) -> tuple[Side, Path, int, str]:
        """Where ``tool`` writes: its side, the directory on disk behind it, and
        haul's (site id, job path)."""
        if case.dst == "local":
            fs = self.work / "dst" / case.name / tool
            fs.parent.mkdir(parents=True, exist_ok=True)
            return Side(None, str(fs)), fs, self.rig.site("file", None), f"/dst/{case.name}/{tool}"
        srv = self.server(case.dst)
        assert srv.root is not None
        top = {"root2": "tpc", "roots2": "htpc"}.get(case.dst, "up")
        rel = f"{top}/{case.name}/{tool}"
        return Side(srv, rel), srv.root / rel, self.rig.site(case.dst, srv), f"/{rel}"

    # -- one case ----------------------------------------------------------------

    def run_case(
        self, case: Case, runs: int, log: Any, only: set[str] | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = {"case": case.name, "unit": case.unit, "tools": {}}
        try:
            for kind in case.servers:
                self.server(kind)
            ds = self.dataset(case.dataset)
            src, src_site, src_path = self.source(case, ds)
        except NotAvailable as exc:
            return {**result, "status": "not run", "why": str(exc)}
        except (subprocess.SubprocessError, OSError, httpx.HTTPError) as exc:
            return {**result, "status": "not run", "why": f"set-up failed: {exc}"}
        tools = [t for t in (HAUL, *case.peers) if only is None or t in only]
        rows: dict[str, dict[str, Any]] = {
            t: {"label": "haul" if t == HAUL else PEER_LABELS[t], "runs": []} for t in tools
        }
        rss: list[float] = []
        read_mb: list[float] = []  # what the worker read per run (TPC: should be ~0)
        cpu: list[tuple[float, float]] = []  # haul's (worker, server) CPU seconds per run
        for round_no in range(1, runs + 1):
            for tool in tools:
                if rows[tool].get("not_run"):
                    continue
                datasets.warm(ds)
                dst, fs, dst_site, dst_path = self.destination(case, tool)
                datasets.empty(fs, self.trash)
                ports = [int(self.server(k).host_port.rsplit(":", 1)[1]) for k in case.servers]
                served0 = server_cpu(ports)
                if tool == HAUL:
                    label = f"{case.name}-run{round_no}"
                    h = self.rig.copy(src_site, src_path, dst_site, dst_path, RUN_TIMEOUT, label)
                    seconds, error = h.seconds, h.error if h.status != "DONE" else None
                    rss.append(h.rss_mb)
                    read_mb.append(h.worker_read_mb)
                    cpu.append((round(h.worker_cpu, 2), round(h.server_cpu, 2)))
                else:
                    try:
                        seconds, error = self._peer(tool, src, dst)
                    except NotAvailable as exc:
                        rows[tool]["not_run"] = str(exc)
                        continue
                if error and error.startswith("not done after"):
                    # One timed-out round is enough to know; the rest would cost as much.
                    rows[tool]["not_run"] = f"round {round_no} {error}"
                served = round(server_cpu(ports) - served0, 2)
                error = error or datasets.check(ds, fs)
                rows[tool]["runs"].append(
                    {"seconds": round(seconds, 3), "error": error, "storage_cpu": served}
                )
                shown = error or f"{_figure(case, ds, seconds):,.1f} {case.unit}"
                if tool == HAUL:
                    shown += (
                        f" (CPU: worker {cpu[-1][0]:.2f} s, server {cpu[-1][1]:.2f} s;"
                        f" worker peak RSS {rss[-1]:.0f} MB)"
                    )
                else:
                    shown += f" (CPU: {self.peer_cpu:.2f} s)"
                if ports:
                    shown += f" [storage servers' CPU {served:.2f} s]"
                print(
                    f"  {case.name} round {round_no} {tool}: {seconds:.2f} s, {shown}",
                    file=log,
                    flush=True,
                )
                datasets.empty(fs, self.trash)
        for row in rows.values():
            good = [r["seconds"] for r in row["runs"] if r["error"] is None]
            row["failed"] = sum(1 for r in row["runs"] if r["error"] is not None)
            if good:
                row["median_seconds"] = statistics.median(good)
                row["figure"] = round(_figure(case, ds, row["median_seconds"]), 1)
        result.update(status="ok", tools=rows, worker_peak_rss_mb=max(rss, default=None))
        result["worker_read_mb"] = [round(x, 1) for x in read_mb]
        result["haul_cpu_seconds"] = [{"worker": w, "server": s} for w, s in cpu]
        result.update(_verdict(case, rows, runs))
        if case.dst in ("root2", "roots2") and read_mb and max(read_mb) > ds.bytes / 2e6:
            # Third-party copy means the bytes never pass through the worker.
            result["met"] = "no"
            result["target"] += " (bytes passed through the worker: not third-party)"
        if self.rig.notes:
            result["notes"] = list(self.rig.notes)
            self.rig.notes.clear()
        return result

    def _peer(self, tool: str, src: Side, dst: Side) -> tuple[float, str | None]:
        cmd = self.peers.command(tool, src, dst)
        for before in cmd.before:
            subprocess.run(before, check=True, capture_output=True, timeout=60)
        t0 = time.monotonic()
        used0 = _children_cpu()
        try:
            proc = subprocess.run(
                cmd.argv, env=_env(cmd.env), capture_output=True, text=True, timeout=RUN_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            return RUN_TIMEOUT, f"not done after {RUN_TIMEOUT:.0f} s"
        seconds = time.monotonic() - t0
        self.peer_cpu = _children_cpu() - used0
        if proc.returncode != 0:
            said = " / ".join((proc.stderr or proc.stdout).split("\n")).replace("\x00", "")
            return seconds, f"exit {proc.returncode}: {said[:300]}"
        return seconds, None


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _env(extra: dict[str, str]) -> dict[str, str]:
    """The peers' environment: ours without AWS_* and RCLONE_* (an AWS_CA_BUNDLE
    set on this machine makes rclone's S3 client refuse its own transport)."""
    own = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    return {**own, **extra}


def _figure(case: Case, ds: datasets.Dataset, seconds: float) -> float:
    if case.dataset == "small":
        return ds.files / seconds
    return ds.bytes / 1e6 / seconds


def _verdict(case: Case, rows: dict[str, dict[str, Any]], runs: int) -> dict[str, Any]:
    haul, peer = rows.get(HAUL, {}), rows.get(case.target_peer, {})
    out: dict[str, Any] = {"target": f">= {case.target_ratio}x {PEER_LABELS[case.target_peer]}"}
    if "figure" not in haul or "figure" not in peer:
        out.update(ratio=None, met="n/a")
        return out
    ratio = haul["figure"] / peer["figure"]
    complete = haul.get("failed") == 0 and len(haul["runs"]) == runs
    met = complete and ratio >= case.target_ratio
    out.update(ratio=round(ratio, 2), met="yes" if met else "no")
    return out
