"""Encryption at rest for site credentials.

The key lives in ``<home>/secret.key`` (created mode 0600 on first use) or in
``$HAUL_SECRET_KEY``; every server process sharing a database must use the
same key. Fernet gives authenticated encryption, so a tampered row fails to
decrypt instead of yielding garbage.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def for_home(cls, home: Path) -> SecretBox:
        env = os.environ.get("HAUL_SECRET_KEY")
        if env:
            return cls(env.encode())
        path = home / "secret.key"
        if not path.exists():
            key = Fernet.generate_key()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(key)
        os.chmod(path, 0o600)
        return cls(path.read_bytes().strip())

    def seal(self, material: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(material).encode())

    def open(self, sealed: bytes) -> dict[str, Any]:
        try:
            return json.loads(self._fernet.decrypt(sealed))
        except InvalidToken as exc:
            raise ValueError("credential cannot be decrypted with this server's key") from exc
