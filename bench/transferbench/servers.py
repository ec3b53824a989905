"""The storage servers of the transfer benchmark, on 127.0.0.1 with random ports.

XRootD and moto are started by the test suite's own code
(tests/servers/fixtures.py); sshd mirrors the test fixture (which is a pytest
fixture and cannot be called directly); Apache with mod_dav replaces the
tests' WsgiDAV, because the benchmark compares against a WebDAV server people
actually run. A server that cannot start raises `NotAvailable` with the
reason, which the benchmark prints for every case that needed it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.servers import fixtures as fx

WEBDAV_USER = "haul"
WEBDAV_PASSWORD = "bench-pass"
S3_ACCESS, S3_SECRET, S3_BUCKET = "haul-access", "haul-secret", "bench"


class NotAvailable(Exception):
    """A server or tool this case needs is missing or would not start."""


@dataclass
class Server:
    kind: str  # sftp, root, root2, dav, s3
    host_port: str  # 127.0.0.1:PORT
    root: Path | None  # the directory behind it (None for S3)
    credential: dict[str, Any] = field(default_factory=dict)
    ca_file: Path | None = None
    key_file: Path | None = None  # sftp: the client's private key
    owner: str | None = None  # the account the server writes as
    https_port: int | None = None  # XRootD: its HTTP plugin (WebDAV with HTTP-TPC)


@contextlib.contextmanager
def _translated(what: str) -> Iterator[None]:
    """The fixtures skip (pytest.skip) when a binary is missing: a reason for us."""
    try:
        yield
    except pytest.skip.Exception as exc:
        raise NotAvailable(f"{what}: {exc.msg}") from None
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        raise NotAvailable(f"{what} did not start: {str(exc)[:300]}") from None


def _need(binary: str, *candidates: str) -> str:
    for name in (binary, *candidates):
        found = shutil.which(name) or (name if os.access(name, os.X_OK) else None)
        if found:
            return found
    raise NotAvailable(f"`{binary}` is not installed (make bench installs it)")


@contextlib.contextmanager
def sshd(work: Path) -> Iterator[Server]:
    """The tests' sshd (tests/servers/fixtures.py ``run_sshd``: own host key,
    config, authorized_keys and an empty HOME). It serves the whole file
    system, so the bench's absolute paths work; ``work`` is unused."""
    del work
    with contextlib.ExitStack() as stack:
        with _translated("sshd"):  # start-up only: later errors are the caller's
            server = stack.enter_context(fx.run_sshd())
        host_port = server.endpoint_url.split("@", 1)[1].split("/", 1)[0]
        yield Server(
            "sftp",
            host_port,
            None,
            dict(server.credential),
            key_file=server.root.parent / "client_ed25519",  # written by run_sshd
            owner="root",
        )


# Both XRootD servers serve third-party copies: the destination runs xrdcp to
# pull from the source, which must accept TPC rendezvous too. The default of
# two concurrent checksum computations made `xrdcp --parallel 4 --cksum`
# fail ("Program failed ... querying the checksum") for some of 1,000 files.
_XROOTD_EXTRA = ["ofs.tpc pgm /usr/bin/xrdcp --server", "xrootd.chksum max 16 adler32"]


def _xrootd_cert(work: Path) -> tuple[Path, Path]:
    """One self-signed certificate for 127.0.0.1 that both XRootD servers serve
    and trust (the HTTP-TPC module's curl checks the other server's)."""
    tls = work / "xrootd-tls"
    cert, key = tls / "cert.pem", tls / "key.pem"
    if not cert.exists():
        tls.mkdir(parents=True, exist_ok=True)
        made_cert, made_key = fx._self_signed(tls)
        made_cert.rename(cert)
        made_key.rename(key)
        for path in (cert, key):
            shutil.chown(path, "nobody", "nogroup")
        key.chmod(0o400)
    return cert, key


@contextlib.contextmanager
def xrootd(kind: str, work: Path) -> Iterator[Server]:
    """An XRootD server: root:// with TPC, and its HTTP plugin over TLS with the
    HTTP-TPC module (XrdHttp loads it only with HTTPS), as the tests' fixture
    ``xrootd_https_tpc_servers`` configures it: the https-tpc case's endpoints."""
    with contextlib.ExitStack() as stack:
        cert, key = _xrootd_cert(work)
        https_port = fx.free_port()
        https = [
            f"xrd.tls {cert} {key}",
            f"xrd.tlsca certfile {cert}",
            f"xrd.protocol XrdHttp:{https_port} libXrdHttp.so",
            "http.exthandler xrdtpc libXrdHttpTPC.so",
        ]
        with _translated("xrootd"):  # start-up only: later errors are the caller's
            server = stack.enter_context(fx._xrootd([*_XROOTD_EXTRA, *https]))
            ready = fx.port_open(https_port)
            for _ in range(100):
                if ready():
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError(f"XrdHttp did not listen on {https_port}")
        host_port = server.endpoint_url.split("//")[1].split("/")[0]
        assert server.root is not None
        yield Server(
            kind, host_port, server.root, {}, ca_file=cert, owner="nobody", https_port=https_port
        )


@contextlib.contextmanager
def moto() -> Iterator[Server]:
    with contextlib.ExitStack() as stack:
        with _translated("moto"):
            server = stack.enter_context(fx._moto(record=False))
            host_port = server.endpoint_url.split("//")[1].split("/")[0]
            import boto3

            boto3.client(
                "s3",
                endpoint_url=f"http://{host_port}",
                aws_access_key_id=S3_ACCESS,
                aws_secret_access_key=S3_SECRET,
                region_name="us-east-1",
            ).create_bucket(Bucket=S3_BUCKET)
        yield Server(
            "s3",
            host_port,
            None,
            {"access_key": S3_ACCESS, "secret_key": S3_SECRET, "region": "us-east-1"},
        )


_APACHE_MODULES = [
    "mpm_event",
    "authn_core",
    "authz_core",
    "authn_file",
    "authz_user",
    "auth_basic",
    "alias",
    "dav",
    "dav_fs",
    "socache_shmcb",
    "ssl",
]


@contextlib.contextmanager
def apache(work: Path) -> Iterator[Server]:
    """Apache httpd with mod_dav over HTTPS (sites take https://), basic auth.

    Runs as root and serves as www-data (Debian's own layout), with Debian's
    default event MPM; keep-alive unlimited so neither client pays reconnects.
    """
    binary = _need("apache2", "/usr/sbin/apache2")
    modules = Path("/usr/lib/apache2/modules")
    if not (modules / "mod_dav_fs.so").exists():
        raise NotAvailable("Apache's mod_dav_fs is not installed")
    work.mkdir(parents=True, exist_ok=True)
    root, run = work / "export", work / "run"
    for sub in (root, run):
        sub.mkdir(exist_ok=True)
        shutil.chown(sub, "www-data", "www-data")
    cert, key = fx._self_signed(work)
    sha = base64.b64encode(hashlib.sha1(WEBDAV_PASSWORD.encode()).digest()).decode()
    (work / "htpasswd").write_text(f"{WEBDAV_USER}:{{SHA}}{sha}\n")
    port = fx.free_port()
    lines = [f"LoadModule {m}_module {modules}/mod_{m}.so" for m in _APACHE_MODULES]
    lines += [
        f"ServerRoot {work}",
        "ServerName 127.0.0.1",
        f"Listen 127.0.0.1:{port} https",
        f"PidFile {run}/apache.pid",
        f"DefaultRuntimeDir {run}",
        f"ErrorLog {work}/error.log",
        "LogLevel warn",
        "User www-data",
        "Group www-data",
        "KeepAlive On",
        "MaxKeepAliveRequests 0",
        "Timeout 120",
        "LimitRequestBody 0",
        f"DavLockDB {run}/davlock",
        "SSLEngine on",
        f"SSLCertificateFile {cert}",
        f"SSLCertificateKeyFile {key}",
        f"SSLSessionCache shmcb:{run}/ssl_scache(512000)",
        f"Alias /dav {root}",
        f'<Directory "{root}">',
        "  Dav On",
        "  Options None",
        "  AllowOverride None",
        "  AuthType Basic",
        "  AuthName haul-bench",
        f"  AuthUserFile {work}/htpasswd",
        "  Require valid-user",
        "</Directory>",
        "",
    ]
    (work / "apache2.conf").write_text("\n".join(lines))
    argv = [binary, "-f", str(work / "apache2.conf"), "-DFOREGROUND"]
    with _translated("apache2"):
        proc = fx._Process(argv, work / "apache.out")
        proc.wait_ready(fx.port_open(port), "apache2")
    try:
        yield Server(
            "dav",
            f"127.0.0.1:{port}",
            root,
            {"username": WEBDAV_USER, "password": WEBDAV_PASSWORD},
            ca_file=cert,
            owner="www-data",
        )
    finally:
        proc.stop()
