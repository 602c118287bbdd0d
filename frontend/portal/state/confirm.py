"""The confirmation step before a change that matters (components/confirm.py draws it): one
mixin for every state that asks first (admin users, admin models).

What is pending stays server-side (`_pending`) and runs only from `confirm`, so the dialog is a
real step a stale tab cannot skip. A state asks with `_ask(title, text, label, pending)` and
says how to run it in `_run_pending(pending)`; Cancel or Escape (`set_confirm_open(False)`)
drop it.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from portal.state.fields import field


class ConfirmMixin(rx.State, mixin=True):
    confirm_open: bool = False
    confirm_title: str = ""
    confirm_text: str = ""
    confirm_label: str = ""
    confirm_busy: bool = False
    _pending: dict[str, Any] = field(dict)  # what confirm() will run

    def _ask(self, title: str, text: str, label: str, pending: dict[str, Any]) -> None:
        """Show the confirmation step; nothing changes until confirm() runs."""
        self.confirm_title, self.confirm_text, self.confirm_label = title, text, label
        self._pending = dict(pending)
        self.confirm_open, self.confirm_busy = True, False

    def _drop_pending(self) -> None:
        self.confirm_open, self.confirm_busy, self._pending = False, False, {}

    async def _run_pending(self, pending: dict[str, Any]) -> Any:
        """Run the confirmed change; what it returns (a redirect) goes to the browser."""
        raise NotImplementedError

    @rx.event
    def set_confirm_open(self, value: bool) -> None:
        """Radix's on_open_change: Cancel or Escape drop what was pending."""
        if not value:
            self._drop_pending()

    @rx.event
    async def confirm(self) -> Any:
        """Run the pending change; only from the confirmation step, and only once."""
        pending = self._pending
        if not self.confirm_open or not pending or self.confirm_busy:
            return
        self.confirm_busy = True
        yield
        r = await self._run_pending(pending)
        self._drop_pending()
        if r is not None:
            yield r
