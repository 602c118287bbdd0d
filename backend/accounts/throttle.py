"""Sign-in throttling for emails that have no account.

Known accounts are throttled with their own row (failed_logins, locked_until). Unknown emails get
the same treatment from this in-process table, so the answers (401 then 429) never reveal whether
an account exists.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass
class _Entry:
    failures: int = 0
    locked_until: datetime | None = None


class LoginThrottle:
    def __init__(self, max_failures: int, lockout_seconds: int, capacity: int = 10_000):
        self.max_failures = max_failures
        self.lockout = timedelta(seconds=lockout_seconds)
        self.capacity = capacity
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def locked_for(self, email: str, now: datetime) -> int:
        """Seconds left on the lock, 0 when not locked."""
        entry = self._entries.get(email)
        if entry is None or entry.locked_until is None:
            return 0
        if entry.locked_until <= now:
            del self._entries[email]
            return 0
        return max(1, int((entry.locked_until - now).total_seconds() + 0.999))

    def fail(self, email: str, now: datetime) -> None:
        entry = self._entries.pop(email, None) or _Entry()
        entry.failures += 1
        if entry.failures >= self.max_failures:
            entry.failures, entry.locked_until = 0, now + self.lockout
        self._entries[email] = entry
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
