"""Refusals the domains raise, named for what went wrong rather than for an HTTP status.

Services and the DICOM node raise these; the HTTP layer maps each kind to a status in one
handler (backend.http.errors), and other callers (the DICOM node, the CLI) read ``detail``.
Nothing here knows about HTTP.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal with a message for a person. ``extra``: a dict of fields added to the answer,
    or a list of field errors (``{"key", "message", "source"}``)."""

    def __init__(
        self, detail: str, *, extra: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Invalid(DomainError):
    """The input itself is wrong (400)."""

    @classmethod
    def field(cls, source: str, message: str, *keys: str) -> Invalid:
        """The refusal of one or more named fields of the body or query, with one message."""
        return cls(message, extra=[{"key": k, "message": message, "source": source} for k in keys])


class Forbidden(DomainError):
    """The user may not do this, whoever the object belongs to (403)."""


class NotFound(DomainError):
    """No such object, or not one this user may see (404)."""


class Conflict(DomainError):
    """The object's state does not allow it now (409)."""


class Gone(DomainError):
    """The object existed and was removed or lost (410)."""


class TooManyRequests(DomainError):
    """A rate limit: ``retry_after_s`` until the next attempt can pass (429)."""

    def __init__(
        self, detail: str, *, retry_after_s: int, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail, extra=extra)
        self.retry_after_s = retry_after_s
