"""The login file `haul login` writes, which `Context` reads for its token.

It lives in the user's config directory (``$HAUL_CONFIG_DIR``, else
``$XDG_CONFIG_HOME/haul``, else ``~/.config/haul``) and holds a bearer token,
so it is written with mode 0600 in a 0700 directory and replaced atomically:
a crash mid-write never leaves a half-written token behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["StoredLogin", "config_dir", "forget_login", "load_login", "login_path",
           "same_server", "save_login"]

LOGIN_FILE = "login.json"


@dataclass
class StoredLogin:
    server: str
    token: str
    email: str | None = None
    user_id: int | None = None
    expires: str | None = None


def config_dir() -> Path:
    explicit = os.environ.get("HAUL_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg else Path.home() / ".config"
    return base / "haul"


def login_path() -> Path:
    return config_dir() / LOGIN_FILE


def normalise_server(url: str) -> str:
    """One spelling per server, so a stored token is matched to the server that issued it."""
    return url.strip().rstrip("/")


def same_server(a: str, b: str) -> bool:
    return normalise_server(a) == normalise_server(b)


def load_login() -> StoredLogin | None:
    """The stored login, or None when there is none or it cannot be read as one."""
    path = login_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("server"), str) \
            or not isinstance(data.get("token"), str):
        return None
    return StoredLogin(
        server=data["server"],
        token=data["token"],
        email=data.get("email"),
        user_id=data.get("user_id"),
        expires=data.get("expires"),
    )


def save_login(login: StoredLogin) -> Path:
    directory = config_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = asdict(login) | {"server": normalise_server(login.server)}
    fd, tmp = tempfile.mkstemp(prefix=".login-", dir=directory)  # created 0600
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, directory / LOGIN_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return directory / LOGIN_FILE


def forget_login() -> bool:
    """Removes the stored login; answers whether there was one."""
    try:
        login_path().unlink()
    except FileNotFoundError:
        return False
    return True
