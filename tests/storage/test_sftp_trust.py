"""SFTP uses the lease's credential only, never the worker account's own SSH identity;
a lost connection is a retryable CONNECTION error, never a hang."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from haul.domain.errors import ErrorCode, TransferError
from haul.storage import open_storage
from tests.servers.fixtures import StorageServer


def test_the_accounts_own_keys_and_config_are_never_used(
    sftp_server: StorageServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A HOME whose ~/.ssh holds a key the server accepts, named by its config too.
    ssh = tmp_path / ".ssh"
    ssh.mkdir(mode=0o700)
    for name in ("id_ed25519", "authorized"):
        (ssh / name).write_text(sftp_server.credential["private_key"])
        (ssh / name).chmod(0o600)
    (ssh / "config").write_text(f"Host *\n  IdentityFile {ssh / 'authorized'}\n  User root\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    assert Path("~/.ssh/id_ed25519").expanduser().exists()
    # The lease's credential is a password this server refuses: nothing else may be tried.
    with pytest.raises(TransferError) as err:
        open_storage(sftp_server.endpoint_url, {"username": "root", "password": "wrong"})
    assert err.value.code is ErrorCode.NO_CREDENTIAL
    # The same key given as the credential works, so it was the key that mattered.
    storage = open_storage(sftp_server.endpoint_url, sftp_server.credential)
    try:
        assert storage.stat(str(sftp_server.root)).is_dir
    finally:
        storage.close()
    assert os.environ["HOME"] == str(tmp_path)


def test_a_dropped_connection_is_a_retryable_connection_error(tmp_path: Path) -> None:
    import signal

    from tests.servers.fixtures import run_sshd

    with run_sshd() as server:  # its own sshd: the shared one serves other tests
        assert server.root is not None
        (server.root / "big").write_bytes(os.urandom(8 << 20))
        storage = open_storage(server.endpoint_url, server.credential)
        try:
            stream = storage.open_read(f"{server.root}/big")
            assert stream.read(1 << 20)
            listener = int((server.root.parent / "sshd.pid").read_text())
            for proc in Path("/proc").iterdir():  # the connection's sshd sessions
                if proc.name.isdigit():
                    with contextlib.suppress(OSError):
                        ppid = (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
                        if int(ppid) == listener:
                            os.kill(int(proc.name), signal.SIGKILL)
            with pytest.raises(TransferError) as err:
                while stream.read(1 << 20):
                    pass
            assert (err.value.code, err.value.retryable) == (ErrorCode.CONNECTION, True)
            stream.close()
            with pytest.raises(TransferError) as err:
                storage.stat(f"{server.root}/big")
            assert err.value.code is ErrorCode.CONNECTION
        finally:
            storage.close()
