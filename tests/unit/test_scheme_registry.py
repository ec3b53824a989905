"""The storage layer's one scheme table (and the domain's, naming the same schemes), and the
copy engines' `in_scope`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from haul.domain.endpoints import INTERNAL_SCHEMES
from haul.domain.enums import (
    CREDENTIAL_FIELDS,
    CREDENTIAL_SCHEMES,
    HOST_KEY_SCHEMES,
    OFFERED_SCHEMES,
    SCHEME_PROTOCOLS,
    SITE_SCHEMES,
)
from haul.domain.errors import ErrorCode, ErrorScope, TransferError
from haul.storage import SCHEMES, open_storage
from haul.storage._base import BaseStorage
from haul.storage.dummy import DummyStorage
from haul.storage.local import LocalStorage
from haul.storage.schemes import BACKENDS, backend_for
from haul.storage.scopes import in_scope


def test_every_scheme_names_a_backend_class() -> None:
    assert tuple(BACKENDS) == SCHEMES
    for scheme, backend in BACKENDS.items():
        assert issubclass(backend.load(), BaseStorage), scheme


def test_every_scheme_a_site_may_register_can_be_opened() -> None:
    registrable = set(SCHEME_PROTOCOLS) - INTERNAL_SCHEMES
    assert registrable <= set(SCHEMES)


def test_which_backends_pull_and_what_webdav_speaks() -> None:
    assert {s for s, b in BACKENDS.items() if b.pulls} == {
        "https",
        "http",
        "davs",
        "dav",
        "root",
        "xroot",
    }
    assert {s: b.wire for s, b in BACKENDS.items() if b.wire} == {
        "https": "https",
        "davs": "https",
        "http": "http",
        "dav": "http",
    }


def test_open_storage_by_scheme() -> None:
    assert type(open_storage("file:///")) is LocalStorage
    assert type(open_storage("FILE:///tmp")) is LocalStorage  # schemes are case-blind
    assert type(open_storage("dummy://t/x?files=1")) is DummyStorage
    with pytest.raises(TransferError) as caught:
        backend_for("gsiftp://host/path")
    assert caught.value.code is ErrorCode.UNSUPPORTED and "'gsiftp'" in caught.value.message


def test_backends_are_imported_only_when_asked_for() -> None:
    code = (
        "import sys; from haul.storage import open_storage; open_storage('file:///');"
        "libs = [m for m in ('asyncssh', 'boto3', 'webdav4', 'XRootD') if m in sys.modules];"
        "assert not libs, libs"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_in_scope_rescopes_transfer_errors_but_not_a_cancellation() -> None:
    with pytest.raises(TransferError) as caught, in_scope(ErrorScope.SOURCE):
        raise TransferError(ErrorCode.NOT_FOUND, "gone")
    assert caught.value.scope is ErrorScope.SOURCE
    with pytest.raises(TransferError) as caught, in_scope(ErrorScope.DESTINATION):
        raise TransferError(ErrorCode.CANCELLED, "stop")
    assert caught.value.scope is ErrorScope.TRANSFER


def test_in_scope_turns_foreign_errors_internal_or_lets_them_pass() -> None:
    with pytest.raises(TransferError) as caught, in_scope(ErrorScope.DESTINATION, "copying"):
        raise KeyError("k")
    err = caught.value
    assert (err.code, err.scope, err.message) == (
        ErrorCode.INTERNAL,
        ErrorScope.DESTINATION,
        "copying: KeyError: 'k'",
    )
    assert isinstance(err.__cause__, KeyError)
    with pytest.raises(KeyError), in_scope(ErrorScope.SOURCE, None):
        raise KeyError("k")
    with pytest.raises(KeyboardInterrupt), in_scope(ErrorScope.SOURCE):
        raise KeyboardInterrupt
    side = in_scope(ErrorScope.SOURCE)
    for _ in range(2):  # one instance serves every block it guards
        with side:
            pass


# Opened by the storage but not a scheme a site registers: xroot:// is XRootD's
# other spelling of root://.
OPENED_ONLY = {"xroot"}


def test_storage_and_domain_tables_name_the_same_schemes() -> None:
    assert set(BACKENDS) == (set(SITE_SCHEMES) - INTERNAL_SCHEMES) | OPENED_ONLY
    assert set(SCHEME_PROTOCOLS) == set(SITE_SCHEMES)
    assert CREDENTIAL_SCHEMES == set(CREDENTIAL_FIELDS) <= set(SITE_SCHEMES)
    assert set(OFFERED_SCHEMES) <= set(SITE_SCHEMES) - INTERNAL_SCHEMES


def test_only_sftp_sites_pin_a_host_key() -> None:
    """The storage's SFTP backend is the one that checks a pinned key (storage/sftp.py)."""
    assert set(HOST_KEY_SCHEMES) == {"sftp"} and BACKENDS["sftp"].target.endswith(":SFTPStorage")


def test_preload_imports_installed_backends_and_skips_missing_ones() -> None:
    code = (
        "import sys; from haul.storage import schemes;"
        "schemes.BACKENDS['nope'] = schemes.Backend('haul.storage.not_installed:Nope');"
        "schemes.preload(('nope', 'sftp'));"
        "assert 'asyncssh' in sys.modules and 'boto3' not in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
