"""New case: files go browser -> portal (rx.upload, with transfer progress) -> backend
(POST /api/cases, one request per file), then each case is followed until its analysis ends.

A row per file shows one progress bar across those phases and, for a file the backend refused,
the backend's own message.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

import reflex as rx

from portal import api, fmt
from portal.state.auth import UPLOADERS, AuthState
from portal.state.models import FileRow

UPLOAD_ID = "case_upload"
POLL_SECONDS = 2.0
POLL_MAX_SECONDS = 15 * 60
META_FIELDS = ("patient_ref", "age", "sex", "acquired_at", "priority", "priority_reason", "notes")
# progress milestones (percent) along the way; transfer fills 0..TRANSFERRED
TRANSFERRED = 40
ACCEPTED = 60
RUNNING = 80


def size_text(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024**2:
        return f"{n / 1024:.0f} KB"
    return f"{n / 1024**2:.1f} MB"


PHASE_PROGRESS = {"queued": ACCEPTED, "running": RUNNING, "done": 100, "failed": 100}


class UploadState(AuthState):
    page_roles: ClassVar[tuple[str, ...]] = UPLOADERS
    files: list[FileRow] = rx.field(default_factory=list)
    busy: bool = False
    error: str = ""
    live: bool = False
    _meta: dict[str, str] = rx.field(default_factory=dict)  # the form, for every file
    _sizes: list[int] = rx.field(default_factory=list)

    @rx.var
    def accepted_count(self) -> int:
        return sum(1 for f in self.files if f.case_id)

    @rx.var
    def refused_count(self) -> int:
        return sum(1 for f in self.files if f.phase == "refused")

    @rx.var
    def has_files(self) -> bool:
        return len(self.files) > 0

    @rx.event
    def load(self) -> Any:
        self.current_page = "upload"
        if not self.busy and not self.live:
            self.files = []
            self.error = ""
        return None

    @rx.event
    def start_batch(self, form: dict[str, Any], names: list[str], sizes: list[int]) -> Any:
        """Runs just before the transfer: remember the form and list the files."""
        if not names:
            self.error = "Choose or drop at least one image first."
            return rx.set_focus("upload-drop")
        self._meta = {k: str(form.get(k, "") or "").strip() for k in META_FIELDS}
        self._sizes = [int(s or 0) for s in sizes]
        self.files = [FileRow(index=i, name=str(n), size=self._sizes[i] if i < len(sizes) else 0,
                              size_text=size_text(self._sizes[i]) if i < len(sizes) else "",
                              phase="transferring", message="Uploading…")
                      for i, n in enumerate(names)]
        self.error = ""
        self.busy = True
        return None

    @rx.event
    def transfer_progress(self, progress: dict[str, Any]) -> None:
        """Browser -> portal progress for the whole request, spread over the files in order."""
        loaded = float(progress.get("loaded", 0) or 0)
        total = float(progress.get("total", 0) or 0)
        if not self.files or total <= 0:
            return
        sizes = [f.size for f in self.files]
        scale = (sum(sizes) / total) if sum(sizes) else 1.0
        sent = loaded * scale
        start = 0
        for f in self.files:
            if f.phase != "transferring":
                start += f.size
                continue
            share = 1.0 if f.size == 0 else min(1.0, max(0.0, (sent - start) / f.size))
            f.progress = round(share * TRANSFERRED)
            start += f.size
        self.files = list(self.files)

    @rx.event
    async def send_files(self, files: list[rx.UploadFile]) -> Any:
        """The files have reached this server: hand each one to the backend."""
        if not files:
            self.busy = False
            if not self.files:
                self.error = "Choose or drop at least one image first."
            return
        if len(self.files) != len(files):  # the list was not announced (e.g. a direct call)
            self.files = [FileRow(index=i, name=f.filename or f"file {i + 1}", phase="sending")
                          for i, f in enumerate(files)]
        for f in self.files:
            f.phase, f.progress, f.message = "sending", TRANSFERRED, "Waiting to be sent…"
        self.files = list(self.files)
        yield
        meta = {k: v for k, v in self._meta.items() if v}
        for i, upload in enumerate(files):
            row = self.files[i]
            row.message = "Sending to the server…"
            self.files = list(self.files)
            yield
            data = await upload.read()
            row.size, row.size_text = len(data), size_text(len(data))
            name = row.name or upload.filename or "upload"
            try:
                case = await self._api(
                    "POST", "/api/cases", timeout=api.UPLOAD_TIMEOUT, data=meta,
                    files={"file": (name, data, upload.content_type or "application/octet-stream")})
            except api.ApiError as e:
                row.phase, row.progress, row.message = "refused", 100, e.detail
                self.files = list(self.files)
                if (r := self._after_error(e)) is not None:
                    yield r
                    return
                yield
                continue
            row.case_id = str(case.get("id", ""))
            self._follow(row, case)
            self.files = list(self.files)
            yield
        self.busy = False
        yield rx.clear_selected_files(UPLOAD_ID)
        if any(f.phase in fmt.ACTIVE_STATUSES for f in self.files):
            yield UploadState.poll

    def _follow(self, row: FileRow, case: dict[str, Any]) -> None:
        status = str(case.get("status", "queued"))
        row.phase = status if status in PHASE_PROGRESS else "queued"
        row.progress = PHASE_PROGRESS.get(status, ACCEPTED)
        if status == "queued":
            row.message = "Accepted; waiting for analysis"
        elif status == "running":
            row.message = "Analysing…"
        elif status == "done":
            row.message = str(case.get("findings_text") or "Analysis complete")
        elif status == "failed":
            row.message = f"Analysis failed: {case.get('error') or 'unknown error'}"

    @rx.event
    def clear(self) -> Any:
        if self.busy:
            return None
        self.files = []
        self.error = ""
        return rx.clear_selected_files(UPLOAD_ID)

    @rx.event(background=True)
    async def poll(self) -> None:
        async with self:
            if self.live:
                return
            self.live = True
        started = time.monotonic()
        try:
            while time.monotonic() - started < POLL_MAX_SECONDS:
                await asyncio.sleep(POLL_SECONDS)
                async with self:
                    if not self._token:
                        return
                    token = self._token
                    pending = [f.case_id for f in self.files
                               if f.case_id and f.phase in fmt.ACTIVE_STATUSES]
                if not pending:
                    return
                results: dict[str, dict[str, Any]] = {}
                for case_id in pending:
                    try:
                        results[case_id] = await api.call("GET", f"/api/cases/{case_id}", token)
                    except api.ApiError as e:
                        if e.unauthenticated:
                            return
                async with self:
                    for f in self.files:
                        if f.case_id in results:
                            self._follow(f, results[f.case_id])
                    self.files = list(self.files)
        finally:
            async with self:
                self.live = False
