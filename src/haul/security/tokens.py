"""API tokens: 256 random bits, so a fast SHA-256 is enough to store them and
lets every request find its token by an indexed equality lookup (argon2 here
would cost a slow hash per request for no gain)."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    return "haul_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
