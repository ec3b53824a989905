"""SSH host keys as haul stores them: one OpenSSH public key line, "TYPE BASE64".

Pure, so the server can check a key a user or a worker sends without an SSH
library, and both sides compare keys the same way.
"""

from __future__ import annotations

import base64
import binascii
import struct

MAX_HOST_KEY_CHARS = 16_384  # an RSA-16384 key line is under 3 kB


class HostKeyError(ValueError):
    pass


def normalize_host_key(text: str, field: str = "host_key") -> str:
    """The key as "TYPE BASE64", from an OpenSSH public key line (a comment is dropped).

    The base64 blob must decode and name the same key type, which catches keys
    pasted with a wrong or truncated half.
    """
    if not isinstance(text, str) or len(text) > MAX_HOST_KEY_CHARS:
        raise HostKeyError(f"{field}: must be an OpenSSH public key line")
    parts = text.split()
    if len(parts) < 2:
        raise HostKeyError(f"{field}: expected 'TYPE BASE64', e.g. 'ssh-ed25519 AAAA...'")
    kind, blob = parts[0], parts[1]
    try:
        raw = base64.b64decode(blob, validate=True)
        (length,) = struct.unpack(">I", raw[:4])
        named = raw[4 : 4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError) as exc:
        raise HostKeyError(f"{field}: the key data is not valid base64 SSH key data") from exc
    if named != kind:
        raise HostKeyError(f"{field}: the key data is a {named!r} key, not {kind!r}")
    return f"{kind} {blob}"
