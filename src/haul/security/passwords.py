"""Password hashing: argon2, slow on purpose so a stolen table is costly to crack."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both answers take as long.

    Made on first use, not at import: an argon2 hash costs ~0.1-0.8 s of CPU,
    which every process importing this module (each CLI command) paid.
    """
    return _hasher.hash("haul-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
