"""Real storage servers for tests, started on 127.0.0.1 with free ports.

Register with `pytest_plugins = ["tests.servers.fixtures"]`. Each fixture is
session-scoped, starts its server once in its own process group, and kills
that group at the end so nothing outlives the test run. Each yields a
`StorageServer`: the endpoint URL (with the path prefix of its export root),
the credential dict a job would carry, and the local directory behind it so
tests can compare bytes directly.

A missing server binary skips the tests that need it, except under CI=true,
where it fails them: CI must not pass by testing nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

_START_TIMEOUT = 30.0


@dataclass
class StorageServer:
    endpoint_url: str
    credential: dict[str, Any] = field(default_factory=dict)
    root: Path | None = None
    # A CA bundle that clients must trust (self-signed TLS servers); a worker
    # process can be pointed at it with SSL_CERT_FILE.
    ca_file: Path | None = None
    # Where the server records every request it gets, headers included (moto).
    request_log: Path | None = None


def _missing(what: str) -> None:
    message = f"{what} is not available; run scripts/install-test-deps.sh"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _binary(name: str, *candidates: str) -> str:
    for candidate in (name, *candidates):
        found = shutil.which(candidate) or (candidate if os.access(candidate, os.X_OK) else None)
        if found:
            return found
    _missing(f"`{name}`")
    raise AssertionError("unreachable")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Process:
    """A server process in its own session, so its whole group can be killed."""

    def __init__(self, argv: list[str], log: Path, **kwargs: Any) -> None:
        self.argv = argv
        self.log = log
        self._log_handle = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **kwargs,
        )

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def wait_ready(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(
                    f"{what} exited with {self.proc.returncode}: {self.argv}\n{self.log_tail()}"
                )
            if ready():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{what} did not start in {_START_TIMEOUT}s\n{self.log_tail()}")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        # Children that re-parented (e.g. forked session handlers) share the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log_handle.close()


def port_open(port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    return check


@contextlib.contextmanager
def _workdir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"haul-{prefix}-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -- SFTP: OpenSSH sshd ------------------------------------------------------


@contextlib.contextmanager
def run_sshd() -> Iterator[StorageServer]:
    """An OpenSSH sshd on 127.0.0.1 with its own host key, config and
    authorized_keys, exporting a fresh directory; also used by bench/."""
    sshd = _binary("sshd", "/usr/sbin/sshd")
    keygen = _binary("ssh-keygen")
    if os.geteuid() != 0:
        _missing("root (sshd needs it to switch users)")
    with _workdir("sftp") as work:
        root = work / "export"
        root.mkdir()
        host_key = work / "host_ed25519"
        client_key = work / "client_ed25519"
        for key in (host_key, client_key):
            subprocess.run(
                [keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                check=True,
                stdin=subprocess.DEVNULL,
            )
        (work / "authorized_keys").write_text(Path(f"{client_key}.pub").read_text())
        (work / "authorized_keys").chmod(0o600)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        port = free_port()
        config = work / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {host_key}",
                    f"PidFile {work / 'sshd.pid'}",
                    f"AuthorizedKeysFile {work / 'authorized_keys'}",
                    "PermitRootLogin prohibit-password",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "UseDNS no",
                    "PrintMotd no",
                    "MaxSessions 50",
                    "MaxStartups 50:30:100",
                    "Subsystem sftp internal-sftp",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        # An empty HOME keeps session start-up cheap (no shell profile runs).
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(work)}
        proc = _Process([sshd, "-D", "-e", "-f", str(config)], work / "sshd.log", env=env)
        try:
            proc.wait_ready(port_open(port), "sshd")
            yield StorageServer(
                endpoint_url=f"sftp://root@127.0.0.1:{port}{root}",
                credential={"username": "root", "private_key": client_key.read_text()},
                root=root,
            )
        finally:
            proc.stop()


@pytest.fixture(scope="session")
def sftp_server() -> Iterator[StorageServer]:
    with run_sshd() as server:
        yield server


# -- XRootD -------------------------------------------------------------------


@contextlib.contextmanager
def _xrootd(extra_config: list[str]) -> Iterator[StorageServer]:
    xrootd = _binary("xrootd", "/usr/bin/xrootd")
    with _workdir("xrootd") as work:
        root = work / "export"
        for sub in (root, work / "admin", work / "run"):
            sub.mkdir()
            shutil.chown(sub, "nobody", "nogroup")
        # xrootd 5.5 has been seen to crash (SIGSEGV) while starting when another
        # instance starts at the same moment (parallel test workers): try again.
        for attempt in range(3):
            port = free_port()
            config = work / "xrootd.cfg"
            config.write_text(
                "\n".join(
                    [
                        f"xrd.port {port}",
                        "xrd.allow host localhost",
                        "xrd.allow host 127.0.0.1",
                        f"all.export {root}",
                        f"all.adminpath {work / 'admin'}",
                        f"all.pidpath {work / 'run'}",
                        "xrootd.chksum adler32",
                        *extra_config,
                        "",
                    ]
                )
            )
            # Its log goes where the unprivileged server may write; its own
            # start-up messages (before it drops root) go to the captured output.
            log = work / "admin" / "xrootd.log"
            proc = _Process(
                [xrootd, "-R", "nobody", "-c", str(config), "-l", str(log)], work / "xrootd.out"
            )
            try:
                proc.wait_ready(port_open(port), "xrootd")
                break
            except RuntimeError:
                if attempt == 2:
                    raise
                time.sleep(0.5 + attempt)
        try:
            yield StorageServer(
                endpoint_url=f"root://127.0.0.1:{port}/{root}", credential={}, root=root
            )
        finally:
            proc.stop()


@pytest.fixture(scope="session")
def xrootd_server() -> Iterator[StorageServer]:
    with _xrootd([]) as server:
        yield server


def xrootd_log(server: StorageServer) -> Path:
    """The server's own log (with `ofs.trace`, one line per open/read naming the client)."""
    assert server.root is not None
    return server.root.parent / "admin" / "xrootd.log"


def _tpc_config(program: str) -> list[str]:
    # The destination runs `program` to pull from the source; `-f` because the
    # client's open has already created the target. `ofs.trace read` logs every
    # read with the reader's identity, so tests can see who moved the bytes.
    return [f"ofs.tpc autorm pgm {program} --server -f", "ofs.trace open read"]


@pytest.fixture(scope="session")
def xrootd_tpc_servers() -> Iterator[tuple[StorageServer, StorageServer]]:
    """Two XRootD servers with third-party copy enabled (`ofs.tpc`): source, destination."""
    xrdcp = _binary("xrdcp", "/usr/bin/xrdcp")
    with _xrootd(_tpc_config(xrdcp)) as source, _xrootd(_tpc_config(xrdcp)) as destination:
        yield source, destination


@pytest.fixture(scope="session")
def xrootd_tpc_broken_server() -> Iterator[StorageServer]:
    """Advertises third-party copy but every one fails: its copy program is `false`."""
    with _xrootd(_tpc_config(shutil.which("false") or "/bin/false")) as server:
        yield server


@contextlib.contextmanager
def _xrootd_https(cert: Path, key: Path) -> Iterator[StorageServer]:
    """XRootD's HTTP plugin over TLS with its HTTP-TPC module (which XrdHttp loads
    only when HTTPS is configured), as a `davs://` endpoint."""
    port = free_port()
    config = [
        f"xrd.tls {cert} {key}",
        f"xrd.tlsca certfile {cert}",  # the TPC module's curl trusts the other server
        f"xrd.protocol XrdHttp:{port} libXrdHttp.so",
        "http.exthandler xrdtpc libXrdHttpTPC.so",
        "ofs.trace open read",
    ]
    with _xrootd(config) as server:
        proc_ready = port_open(port)
        deadline = time.monotonic() + _START_TIMEOUT
        while not proc_ready() and time.monotonic() < deadline:
            time.sleep(0.1)
        yield StorageServer(
            endpoint_url=f"davs://127.0.0.1:{port}{server.root}",
            credential={},
            root=server.root,
            ca_file=cert,
        )


@pytest.fixture(scope="session")
def xrootd_https_tpc_servers() -> Iterator[tuple[StorageServer, StorageServer]]:
    """Two XRootD HTTPS (WebDAV) servers doing HTTP-TPC: source, destination.
    They share one self-signed certificate for 127.0.0.1 (`ca_file`)."""
    with _workdir("xrootd-tls") as work:
        cert, key = _self_signed(work)
        for path in (cert, key):
            shutil.chown(path, "nobody", "nogroup")
        key.chmod(0o400)
        with _xrootd_https(cert, key) as source, _xrootd_https(cert, key) as destination:
            yield source, destination


@pytest.fixture()
def xrootd_unix_auth_server() -> Iterator[StorageServer]:
    """XRootD that admits only clients authenticating with the `unix` protocol,
    i.e. with the identity of the account the client runs as."""
    with _xrootd(
        ["xrootd.seclib libXrdSec.so", "sec.protocol unix", "sec.protbind * only unix"]
    ) as server:
        yield server


# -- WebDAV: WsgiDAV on cheroot ------------------------------------------------

WEBDAV_USER = "haul"
WEBDAV_PASSWORD = "s3cret-pass"


def _self_signed(work: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1 (its own CA), and its key."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = work / "cert.pem", work / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextlib.contextmanager
def _wsgidav(tls: bool) -> Iterator[StorageServer]:
    try:
        import wsgidav  # noqa: F401
    except ImportError:
        _missing("the wsgidav package")
    with _workdir("webdavs" if tls else "webdav") as work:
        root = work / "export"
        root.mkdir()
        port = free_port()
        config = work / "wsgidav.yaml"
        tls_lines: list[str] = []
        cert: Path | None = None
        if tls:
            cert, key = _self_signed(work)
            tls_lines = [
                f"ssl_certificate: '{cert}'",
                f"ssl_private_key: '{key}'",
                "ssl_adapter: builtin",
            ]
        config.write_text(
            "\n".join(
                [
                    "host: 127.0.0.1",
                    f"port: {port}",
                    "server: cheroot",
                    *tls_lines,
                    "provider_mapping:",
                    f"  '/dav': '{root}'",
                    "http_authenticator:",
                    "  accept_basic: true",
                    "  accept_digest: false",
                    "  default_to_digest: false",
                    "simple_dc:",
                    "  user_mapping:",
                    "    '*':",
                    f"      '{WEBDAV_USER}':",
                    f"        password: '{WEBDAV_PASSWORD}'",
                    "lock_storage: true",
                    "verbose: 1",
                    "logging:",
                    "  enable_loggers: []",
                    "",
                ]
            )
        )
        argv = [sys.executable, "-m", "wsgidav.server.server_cli", "-c", str(config)]
        proc = _Process(argv, work / "wsgidav.log")
        try:
            proc.wait_ready(port_open(port), "wsgidav")
            yield StorageServer(
                endpoint_url=f"{'https' if tls else 'http'}://127.0.0.1:{port}/dav",
                credential={"username": WEBDAV_USER, "password": WEBDAV_PASSWORD},
                root=root,
                ca_file=cert,
            )
        finally:
            proc.stop()


@pytest.fixture(scope="session")
def webdav_server() -> Iterator[StorageServer]:
    """WebDAV over plain HTTP."""
    with _wsgidav(tls=False) as server:
        yield server


@pytest.fixture(scope="session")
def webdavs_server() -> Iterator[StorageServer]:
    """WebDAV over HTTPS with a self-signed certificate (`ca_file`): the form a
    site endpoint takes (`https://`), since sites do not register plain http://."""
    with _wsgidav(tls=True) as server:
        yield server


# -- S3: moto server -------------------------------------------------------------

S3_BUCKET = "haul-test"


@contextlib.contextmanager
def _moto(record: bool) -> Iterator[StorageServer]:
    try:
        import boto3
        import moto  # noqa: F401
    except ImportError:
        _missing("the moto and boto3 packages")
    with _workdir("s3") as work:
        port = free_port()
        argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        log = work / "requests.jsonl"
        env = {**os.environ}
        if record:
            # moto's recorder: one JSON line per request, with its headers.
            env.update(MOTO_ENABLE_RECORDING="true", MOTO_RECORDER_FILEPATH=str(log))
        proc = _Process(argv, work / "moto.log", env=env)
        try:
            proc.wait_ready(port_open(port), "moto_server")
            credential = {
                "access_key": "haul-access",
                "secret_key": "haul-secret",
                "region": "us-east-1",
            }
            client = boto3.client(
                "s3",
                endpoint_url=f"http://127.0.0.1:{port}",
                aws_access_key_id=credential["access_key"],
                aws_secret_access_key=credential["secret_key"],
                region_name=credential["region"],
            )
            client.create_bucket(Bucket=S3_BUCKET)
            yield StorageServer(
                endpoint_url=f"s3://127.0.0.1:{port}/{S3_BUCKET}?scheme=http",
                credential=credential,
                root=None,
                request_log=log if record else None,
            )
        finally:
            proc.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[StorageServer]:
    with _moto(record=False) as server:
        yield server


@pytest.fixture()
def s3_recorded_server() -> Iterator[StorageServer]:
    """A moto server of the test's own that logs every request (`request_log`)."""
    with _moto(record=True) as server:
        yield server
