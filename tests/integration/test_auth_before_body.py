"""A stranger's big body is refused before it is read (issue 10, point 13)."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.harness import ServerProcess
from tests.integration.api import W

BIG = 200 * 1024 * 1024
CHUNK = b" " * (1 << 20)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def put_big(
    server: ServerProcess,
    path: str,
    headers: dict[str, str],
    method: str = "PUT",
    offer_rest: bool = True,
) -> tuple[bytes, int]:
    """Sends the headers of a 200 MB request and its first byte, then reads the answer.

    The answer must come before the body does (the old server waited for all
    of it). Then the rest is offered; returns the answer and how many body
    bytes the server took before closing the connection.
    """
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}",
             "Content-Type: application/json", f"Content-Length: {BIG}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sent = 1
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + b"[")
        answer = b""
        while b"}" not in answer:  # times out (fails) if the server waits for the body
            more = sock.recv(4096)
            if not more:
                break
            answer += more
        try:
            while offer_rest and sent < BIG:
                sock.sendall(CHUNK)
                sent += len(CHUNK)
        except OSError:
            pass  # the server closed the connection: it will not read the rest
    return answer, sent


def test_an_unauthenticated_big_put_is_refused_before_its_body_is_read(
    server: ServerProcess, worker_token: str
) -> None:
    assert server.proc is not None
    before = rss_kb(server.proc.pid)
    user = server.new_user()
    cases = [
        ({}, b"401", b"no token"),
        ({"Authorization": "Bearer not-a-token"}, b"401", b"invalid or revoked token"),
        ({"Authorization": f"Bearer {user.token}"}, b"403", b"this needs the worker role"),
    ]
    for headers, status, detail in cases:
        answer, sent = put_big(server, f"{W}/worker/results", headers)
        assert answer.startswith(b"HTTP/1.1 " + status), answer
        assert detail in answer
        assert b"connection: close" in answer.lower()
        assert sent < BIG  # the connection closed instead of reading the body
    # The per-route body limits still hold: 1 MB for a submission.
    answer, _ = put_big(server, f"{W}/jobs", {}, method="POST", offer_rest=False)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    grown_mb = (rss_kb(server.proc.pid) - before) / 1024
    assert grown_mb < 100, f"server RSS grew by {grown_mb:.0f} MB"
    # A worker's token still gets its (small) body read and answered.
    with server.client(worker_token) as c:
        r = c.put(f"{W}/worker/results", json=[])
        assert r.status_code == 200 and r.json() == []
