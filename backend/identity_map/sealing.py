"""The identity map's cipher: AES-256-GCM, one random nonce per row, the case id as associated
data (a sealed row copied onto another case does not open).

Why sealed and not only a table of its own: everything else in the database is de-identified,
and so are its backups, replicas and the SQL consoles people use for support. Sealing keeps it
that way: the identifiers open only in a process that holds MEDSEGTEXT_IDENTITY_KEY (the node,
the worker that sends, the API for an admin's read), which lives with the other secrets and
not in the database. The key id stored beside each row names the key that sealed it, so a wrong
key is a clear error and not garbage.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from backend.settings import Settings

NONCE_BYTES = 12
_DERIVED = b"medsegtext identity map, development key\x00"


class KeyMismatch(RuntimeError):
    """The row was sealed with another key, or altered."""


def key_of(settings: Settings) -> bytes:
    """MEDSEGTEXT_IDENTITY_KEY; in development and tests (load_settings refuses a missing key
    elsewhere once the map is used) a key derived from the secret key."""
    if settings.identity_key:
        return base64.b64decode(settings.identity_key)
    return hashlib.sha256(_DERIVED + settings.secret_key.encode("utf-8")).digest()


def key_id(key: bytes) -> str:
    """A short public name of a key (not a secret: a hash of it)."""
    return hashlib.sha256(b"key-id\x00" + key).hexdigest()[:16]


def seal(key: bytes, case_id: str, plaintext: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, case_id.encode("ascii"))


def unseal(key: bytes, case_id: str, sealed: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], case_id.encode("ascii")
        )
    except InvalidTag:
        raise KeyMismatch(
            f"the identity of case {case_id} does not open with this key "
            f"({key_id(key)}): sealed with another key, or altered"
        ) from None
