"""What the benchmark measures: each case, the peer tools run beside haul, and
the issue's target (a ratio of haul's figure to one peer's, from the same run).

Small-file cases are measured in files/s, large-file cases in MB/s
(10^6 bytes per second); a ratio is haul's figure over the peer's.
"""

from __future__ import annotations

from dataclasses import dataclass

# Peer tool ids (commands in peers.py) and how the table names them.
PEER_LABELS: dict[str, str] = {
    "sftp": "OpenSSH sftp -r",
    "rclone-sftp-hash": "rclone sftp (md5 checked)",
    "rclone-sftp-size": "rclone sftp (size only)",
    "xrdcp": "xrdcp -r --parallel 4",
    "xrdcp-cksum": "xrdcp -r --parallel 4 --cksum adler32",
    "xrdcp-tpc": "xrdcp --tpc only -r --parallel 4",
    "rclone-dav": "rclone webdav",
    "rclone-s3": "rclone s3 (md5 checked)",
    "rclone-s3-size": "rclone s3 (size only)",
    "cp": "cp -r (unverified)",
    "rclone-local": "rclone local (md5 checked)",
    "rclone-local-size": "rclone local (size only)",
}


@dataclass(frozen=True)
class Case:
    name: str
    src: str  # where the data comes from: local, sftp, root, roots (root over HTTPS), dav, s3
    dst: str  # where it goes: local, dav, root2, roots2
    dataset: str  # small or large
    peers: tuple[str, ...]
    target_peer: str
    target_ratio: float
    optional: bool = False  # "if time permits" in the issue

    @property
    def unit(self) -> str:
        return "files/s" if self.dataset == "small" else "MB/s"

    @property
    def servers(self) -> tuple[str, ...]:
        return tuple(k for k in (self.src, self.dst) if k != "local")


_SFTP = ("sftp", "rclone-sftp-hash", "rclone-sftp-size")
_ROOT = ("xrdcp", "xrdcp-cksum")
_S3 = ("rclone-s3", "rclone-s3-size")
_LOCAL = ("rclone-local", "rclone-local-size", "cp")

CASES: list[Case] = [
    Case("sftp-small", "sftp", "local", "small", _SFTP, "sftp", 1.0),
    Case("sftp-large", "sftp", "local", "large", _SFTP, "sftp", 1.0),
    Case("root-small", "root", "local", "small", _ROOT, "xrdcp", 0.8),
    Case("root-large", "root", "local", "large", _ROOT, "xrdcp", 1.0),
    Case("webdav-small", "dav", "local", "small", ("rclone-dav",), "rclone-dav", 1.0),
    Case("webdav-large", "dav", "local", "large", ("rclone-dav",), "rclone-dav", 1.0),
    Case("s3-small", "s3", "local", "small", _S3, "rclone-s3", 1.0),
    Case("s3-large", "s3", "local", "large", _S3, "rclone-s3", 1.0),
    Case("local-large", "local", "local", "large", _LOCAL, "rclone-local", 1.5),
    Case("local-small", "local", "local", "small", _LOCAL, "rclone-local", 1.5),
    Case("tpc-large", "root", "root2", "large", ("xrdcp-tpc",), "xrdcp-tpc", 1.0),
    Case("tpc-small", "root", "root2", "small", ("xrdcp-tpc",), "xrdcp-tpc", 1.0, True),
    # HTTPS -> HTTPS between the same two XRootD servers' HTTP plugins (HTTP-TPC, WebDAV
    # COPY), against xrdcp --tpc only between them over root://: the target.
    Case("https-tpc-large", "roots", "roots2", "large", ("xrdcp-tpc",), "xrdcp-tpc", 1.0),
    Case("webdav-up-small", "local", "dav", "small", ("rclone-dav",), "rclone-dav", 1.0, True),
    Case("webdav-up-large", "local", "dav", "large", ("rclone-dav",), "rclone-dav", 1.0, True),
]

BY_NAME = {c.name: c for c in CASES}
