"""The benchmark's table (Markdown, so it pastes into bench/RESULTS.md) and the
machine it ran on."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

RSS_LIMIT_MB = 300.0


def machine() -> dict[str, Any]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "commit": commit,
    }


def _clean(text: str) -> str:
    """An error message fit for one table cell."""
    return " ".join(text.split()).replace("|", "/")


def _cell(row: dict[str, Any], unit: str) -> str:
    return _clean(_cell_text(row, unit))


def _cell_text(row: dict[str, Any], unit: str) -> str:
    if row.get("not_run") and not row.get("runs"):
        return f"not run: {row['not_run']}"
    runs = row.get("runs", [])
    if "figure" not in row:
        errors = [r["error"] for r in runs if r["error"]]
        return f"failed: {errors[0] if errors else 'no run'}"
    text = f"{row['figure']:,.1f} {unit}"
    if row.get("failed"):
        first = next(r["error"] for r in runs if r["error"])
        text += f" ({row['failed']}/{len(runs)} runs failed: {first[:120]})"
    return text


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| case | haul | peers (same run) | ratio vs target peer | target | met | worker RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for res in results:
        if res.get("status") != "ok":
            lines.append(f"| {res['case']} | not run: {_clean(res.get('why', '?'))} | | | | | |")
            continue
        tools = res["tools"]
        unit = res["unit"]
        peers = "; ".join(
            f"{row['label']} {_cell(row, unit)}" for name, row in tools.items() if name != "haul"
        )
        ratio = "n/a" if res.get("ratio") is None else f"{res['ratio']:.2f}x"
        rss = res.get("worker_peak_rss_mb")
        rss_text = "?" if rss is None else f"{rss:,.0f} MB"
        lines.append(
            f"| {res['case']} | {_cell(tools.get('haul', {}), unit)} | {peers} | {ratio} | "
            f"{res.get('target', '')} | {res.get('met', 'n/a')} | {rss_text} |"
        )
    return "\n".join(lines)


def rss_verdict(results: list[dict[str, Any]]) -> str:
    peaks = [
        (r["case"], r["worker_peak_rss_mb"])
        for r in results
        if r.get("status") == "ok" and r.get("worker_peak_rss_mb") is not None
    ]
    if not peaks:
        return "worker peak RSS: not measured"
    case, peak = max(peaks, key=lambda p: p[1])
    met = "yes" if peak < RSS_LIMIT_MB else "no"
    return f"worker peak RSS: {peak:,.0f} MB (in {case}); target < {RSS_LIMIT_MB:.0f} MB: {met}"
