"""CPU the storage servers spent during a run (moto, Apache, xrootd, sshd).

On this 2-core machine the servers share the CPU with haul and the peers, and
some (moto, a Python server) are the bottleneck of a case whoever the client
is: a run's figure means more beside what the server spent serving it.

The server is found by the port it listens on (/proc/net/tcp's inode, then
the process holding it); its CPU is its own, its live descendants' (Apache's
children) and its reaped children's (sshd's per-connection processes).
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.proc_cpu import descendants

_TICK = os.sysconf("SC_CLK_TCK")


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                inodes.add(parts[9])
    return inodes


def listener_pids(port: int) -> list[int]:
    """The processes holding a socket that listens on `port`."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    pids: list[int] = []
    if not wanted:
        return pids
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in wanted for fd in (proc / "fd").iterdir()):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _with_reaped(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return sum(int(f) for f in fields[11:15]) / _TICK  # utime stime cutime cstime
    except (OSError, IndexError, ValueError):
        return 0.0


def server_cpu(ports: list[int]) -> float:
    """CPU seconds so far of the servers listening on `ports` (and their children)."""
    seen: set[int] = set()
    total = 0.0
    for port in ports:
        for pid in listener_pids(port):
            for member in (pid, *descendants(pid)):
                if member not in seen:
                    seen.add(member)
                    total += _with_reaped(member)
    return total
