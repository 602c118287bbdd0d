"""Bearer tokens: random secrets shown once; only their sha256 is stored."""

from __future__ import annotations

import hashlib
import secrets

SESSION_COOKIE = "medsegtext_session"
TOKEN_PREFIX_LENGTH = 8


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_prefix(token: str) -> str:
    return token[:TOKEN_PREFIX_LENGTH]
