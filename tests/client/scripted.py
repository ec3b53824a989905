"""A real HTTP server on loopback that answers a script of responses.

haul itself never answers 424, 500 or 503 on purpose, yet the client must
map them and retry 503/429; this server gives the client those answers over
a real socket, in order, and records what it was asked.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


@dataclass
class Script:
    answers: list[Answer] = field(default_factory=list)
    seen: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""

    def play(self, *answers: Answer) -> None:
        self.answers[:] = list(answers)
        self.seen.clear()


@contextmanager
def scripted_server() -> Iterator[Script]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            script.seen.append((self.command, self.path))
            answer = script.answers.pop(0) if script.answers else Answer(500, {"detail": "empty"})
            payload = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
            self.send_response(answer.status)
            ctype = "text/html" if answer.raw is not None else "application/json"
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            for k, v in answer.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    script.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield script
    finally:
        httpd.shutdown()
        httpd.server_close()
