"""The `dummy://` URL's query: the generated tree and the behaviour asked for.

    dummy://NAME/PREFIX?files=N&size=BYTES&depth=D&dirs=K
                       &speed=BYTES_PER_S&fail_rate=P&fail_path=SUBSTRING&keep=1

NAME names the overlay shared by every storage of that name in the process;
PREFIX roots the tree. `speed` (0: unbounded) caps every stream's rate;
`fail_rate` fails that share of opens with CONNECTION, `fail_path` fails
every path containing it with NOT_FOUND; `keep=1` keeps written bytes.
A number that is not one is INVALID, naming the word.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from haul.domain.errors import ErrorCode, TransferError


@dataclass(frozen=True)
class DummyParams:
    name: str
    root: str
    files: int = 0
    size: int = 0
    depth: int = 0
    dirs: int = 0
    speed: float | None = None
    fail_rate: float = 0.0
    fail_path: str | None = None
    keep: bool = False

    @classmethod
    def from_url(cls, url: str) -> DummyParams:
        parts = urlsplit(url)
        params = parse_qs(parts.query)
        speed = float(params["speed"][0]) if "speed" in params else 0.0
        return cls(
            name=parts.netloc or "default",
            root=parts.path or "/",
            files=_int_param(params, "files", 0),
            size=_int_param(params, "size", 0),
            depth=_int_param(params, "depth", 0),
            dirs=_int_param(params, "dirs", 0),
            speed=speed if speed > 0 else None,
            fail_rate=float(params["fail_rate"][0]) if "fail_rate" in params else 0.0,
            fail_path=params["fail_path"][0] if "fail_path" in params else None,
            keep=params.get("keep", ["0"])[0].lower() in ("1", "true", "yes"),
        )


def _int_param(params: dict[str, list[str]], name: str, default: int) -> int:
    try:
        return int(params[name][0]) if name in params else default
    except ValueError as exc:
        raise TransferError(ErrorCode.INVALID, f"dummy URL: {name} must be an integer") from exc
