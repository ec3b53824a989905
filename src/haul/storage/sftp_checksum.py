"""Destination checksums computed by the SSH server itself.

After a write the engine must know the bytes landed intact. Reading a file
back over SFTP costs a second transfer; `sha256sum`/`md5sum` run on the
server over an SSH exec channel cost one round trip and the server's disk
read. Used only where the account may run commands: a refused channel, a
forced command (e.g. `ForceCommand internal-sftp`) or a missing tool is
remembered, and the engine reads back instead.
"""

from __future__ import annotations

import re
import shlex

import asyncssh

_TOOLS = {"md5": "md5sum", "sha256": "sha256sum"}
_HEX = {"md5": re.compile(r"\\?([0-9a-f]{32})\s"), "sha256": re.compile(r"\\?([0-9a-f]{64})\s")}
TIMEOUT = 3600.0  # hashing a large file on a slow disk takes a while


class RemoteChecksum:
    def __init__(self, conn: asyncssh.SSHClientConnection) -> None:
        self._conn = conn
        self.available = True  # until the server shows it is not

    def offers(self, algorithm: str) -> bool:
        return self.available and algorithm in _TOOLS

    async def digest(self, path: str, algorithm: str) -> str | None:
        """The digest, or None when the server cannot tell (read back instead)."""
        command = f"{_TOOLS[algorithm]} -- {shlex.quote(path)}"
        try:
            result = await self._conn.run(
                command, check=False, stdin=asyncssh.DEVNULL, timeout=TIMEOUT
            )
        except asyncssh.ChannelOpenError:
            self.available = False
            return None
        except (asyncssh.Error, TimeoutError):
            return None
        out = result.stdout if isinstance(result.stdout, str) else ""
        match = _HEX[algorithm].match(out)
        if result.exit_status != 0 or match is None:
            if result.exit_status != 1:  # 1: this file unreadable; else no tool, no exec
                self.available = False
            return None
        return match.group(1)
