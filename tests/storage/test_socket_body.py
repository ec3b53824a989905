"""socket_body: a TLS body's records read by the C object's own read, where it has one
(the bodies themselves, over real TLS, are test_http_ranges')."""

from __future__ import annotations

from typing import Any

from haul.storage.socket_body import _record_reader


class _Inner:
    def read(self, n: int, buffer: Any) -> int:
        return 0


class _Wrapped:
    def __init__(self, inner: object | None) -> None:
        self._sslobj = inner

    def read(self, n: int, buffer: Any) -> int:
        return 0


def test_the_c_read_under_the_wrapper_is_used_where_there_is_one() -> None:
    inner = _Inner()
    assert _record_reader(_Wrapped(inner)) == inner.read  # type: ignore[arg-type]


def test_without_it_the_sockets_own_read() -> None:
    sock = _Wrapped(None)
    assert _record_reader(sock) == sock.read  # type: ignore[arg-type]
