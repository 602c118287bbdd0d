"""Rows for the API's tokens and sessions (Account page, and an admin's view of a user).

Pure functions of the API's JSON, so both pages show a token's state the same way: revoked,
expired (its expires_at has passed), or live.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from portal import fmt
from portal.state.models import SessionRow, TokenRow

LIFETIMES = [
    ("", "Longest allowed"),
    ("1", "1 day"),
    ("7", "7 days"),
    ("30", "30 days"),
    ("90", "90 days"),
]  # the create form's choices; the API refuses past its maximum


def _past(value: Any, now: datetime) -> bool:
    t = fmt.parse_time(value)
    return t is not None and t <= now


def token_row(t: dict[str, Any], now: datetime | None = None) -> TokenRow:
    now = now or datetime.now(UTC)
    return TokenRow(
        id=int(t.get("id") or 0),
        name=str(t.get("name", "")),
        prefix=str(t.get("prefix", "")),
        created=fmt.when(t.get("created_at")),
        expires=fmt.when(t.get("expires_at")) or "never",
        last_used=fmt.when(t.get("last_used_at")) or "never",
        revoked=t.get("revoked_at") is not None,
        expired=t.get("revoked_at") is None and _past(t.get("expires_at"), now),
        kind=str(t.get("kind", "")),
        client=fmt.text(t.get("client_addr")) or "—",
        user_agent=fmt.text(t.get("user_agent")) or "—",
    )


def session_row(s: dict[str, Any]) -> SessionRow:
    return SessionRow(
        id=int(s.get("id") or 0),
        created=fmt.when(s.get("created_at")),
        last_used=fmt.when(s.get("last_used_at")) or "never",
        expires=fmt.when(s.get("expires_at")),
        client=fmt.text(s.get("client_addr")) or "—",
        user_agent=fmt.text(s.get("user_agent")) or "—",
        current=bool(s.get("current")),
    )


def lifetime_days(value: Any) -> int | None:
    """The create form's lifetime: None for the server's longest, else whole days (>= 1).
    Raises ValueError for anything else."""
    text = str(value or "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValueError(text)
    return int(text)
