"""The peer tools' command lines, with each tool's defaults except where the
issue fixes a setting: 4 parallel transfers where the tool has the option
(`rclone --transfers 4`, `xrdcp --parallel 4`), OpenSSH `sftp` in batch mode
with its default -R/-B. rclone's remotes are given by environment variables
(`RCLONE_CONFIG_<NAME>_*`) and an empty config file, so no user config leaks in.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .servers import S3_BUCKET, WEBDAV_PASSWORD, WEBDAV_USER, NotAvailable, Server

SSH_OPTS = [
    "-F",
    "/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "LogLevel=ERROR",
]
RCLONE_COMMON = ["--transfers", "4", "-q"]
RCLONE_FLAGS = {
    "hash": ["--checksum"],
    "size": ["--size-only", "--ignore-checksum"],
    "default": [],
}


@dataclass
class Side:
    """One end of a peer's copy: a server (None: the local disk) and a path.

    ``path`` is the absolute path for local and sftp, the path under the
    export root for XRootD, under /dav for WebDAV, under the bucket for S3."""

    server: Server | None
    path: str


@dataclass
class Command:
    argv: list[str]
    env: dict[str, str]
    before: list[list[str]]  # commands run untimed first (e.g. make the destination dir)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise NotAvailable(f"`{name}` is not installed (make bench installs it)")
    return found


class Peers:
    def __init__(self, work: Path) -> None:
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        self.rclone_config = work / "rclone.conf"
        self.rclone_config.touch()
        self._obscured: str | None = None

    # -- rclone remotes ---------------------------------------------------------

    def _rclone_remote(self, side: Side, env: dict[str, str]) -> str:
        s = side.server
        if s is None:
            return side.path
        host, port = s.host_port.split(":")
        if s.kind == "sftp":
            env.update(
                RCLONE_CONFIG_BSFTP_TYPE="sftp",
                RCLONE_CONFIG_BSFTP_HOST=host,
                RCLONE_CONFIG_BSFTP_PORT=port,
                RCLONE_CONFIG_BSFTP_USER="root",
                RCLONE_CONFIG_BSFTP_KEY_FILE=str(s.key_file),
                RCLONE_CONFIG_BSFTP_SHELL_TYPE="unix",
            )
            return f"bsftp:{side.path}"
        if s.kind == "dav":
            env.update(
                RCLONE_CONFIG_BDAV_TYPE="webdav",
                RCLONE_CONFIG_BDAV_URL=f"https://{s.host_port}/dav",
                RCLONE_CONFIG_BDAV_VENDOR="other",
                RCLONE_CONFIG_BDAV_USER=WEBDAV_USER,
                RCLONE_CONFIG_BDAV_PASS=self._obscure(WEBDAV_PASSWORD),
                RCLONE_CA_CERT=str(s.ca_file),
            )
            return f"bdav:{side.path.lstrip('/')}"
        if s.kind == "s3":
            env.update(
                RCLONE_CONFIG_BS3_TYPE="s3",
                RCLONE_CONFIG_BS3_PROVIDER="Other",
                RCLONE_CONFIG_BS3_ENDPOINT=f"http://{s.host_port}",
                RCLONE_CONFIG_BS3_ACCESS_KEY_ID=s.credential["access_key"],
                RCLONE_CONFIG_BS3_SECRET_ACCESS_KEY=s.credential["secret_key"],
                RCLONE_CONFIG_BS3_REGION="us-east-1",
                RCLONE_CONFIG_BS3_FORCE_PATH_STYLE="true",
            )
            return f"bs3:{S3_BUCKET}/{side.path.lstrip('/')}"
        raise NotAvailable(f"rclone is not compared on {s.kind}")

    def _obscure(self, secret: str) -> str:
        if self._obscured is None:
            out = subprocess.run(
                [_tool("rclone"), "obscure", secret], capture_output=True, text=True, check=True
            )
            self._obscured = out.stdout.strip()
        return self._obscured

    def rclone(self, src: Side, dst: Side, mode: str) -> Command:
        env = {"RCLONE_CONFIG": str(self.rclone_config)}
        argv = [
            _tool("rclone"),
            "copy",
            self._rclone_remote(src, env),
            self._rclone_remote(dst, env),
            *RCLONE_COMMON,
            *RCLONE_FLAGS[mode],
        ]
        return Command(argv, env, [])

    # -- the others -------------------------------------------------------------

    def sftp(self, src: Side, dst: Side) -> Command:
        s = src.server
        assert s is not None and s.key_file is not None and dst.server is None
        host, port = s.host_port.split(":")
        batch = self.work / "sftp.batch"
        batch.write_text(f'get -r "{src.path}" "{dst.path}"\n')
        argv = [_tool("sftp"), "-q", *SSH_OPTS, "-i", str(s.key_file), "-P", port]
        argv += ["-b", str(batch), f"root@{host}"]
        return Command(argv, {}, [["mkdir", "-p", str(Path(dst.path).parent)]])

    @staticmethod
    def _root_url(side: Side) -> str:
        assert side.server is not None and side.server.root is not None
        return f"root://{side.server.host_port}/{side.server.root}/{side.path.lstrip('/')}"

    def xrdcp(self, src: Side, dst: Side, extra: list[str]) -> Command:
        """xrdcp -r puts the tree in DST/<name>, and DST must exist first."""
        argv = [_tool("xrdcp"), "-r", "--parallel", "4", "-s", *extra, self._root_url(src)]
        if dst.server is None:
            return Command([*argv, dst.path], {}, [["mkdir", "-p", dst.path]])
        made = [_tool("xrdfs"), dst.server.host_port, "mkdir", "-p"]
        made.append(f"{dst.server.root}/{dst.path.lstrip('/')}")
        return Command([*argv, self._root_url(dst)], {}, [made])

    def cp(self, src: Side, dst: Side) -> Command:
        return Command([_tool("cp"), "-r", src.path, dst.path], {}, [])

    def command(self, peer: str, src: Side, dst: Side) -> Command:
        if peer == "sftp":
            return self.sftp(src, dst)
        if peer.startswith("rclone-"):
            mode = peer.rsplit("-", 1)[1]
            return self.rclone(src, dst, mode if mode in RCLONE_FLAGS else "default")
        if peer == "xrdcp":
            return self.xrdcp(src, dst, [])
        if peer == "xrdcp-cksum":
            return self.xrdcp(src, dst, ["--cksum", "adler32"])
        if peer == "xrdcp-tpc":
            return self.xrdcp(src, dst, ["--tpc", "only"])
        if peer == "cp":
            return self.cp(src, dst)
        raise ValueError(peer)
