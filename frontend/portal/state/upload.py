"""New case: files go browser -> portal (rx.upload, with transfer progress) -> backend
(POST /api/cases, one request per file, sent by a background event), and each case is followed
from the moment the backend accepts it until its analysis ends, while later files are still
being sent: the first file's result shows without waiting for the last.

A row per file shows one progress bar across those phases and, for a file the backend refused,
the backend's own message.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import reflex as rx

from portal import api, fmt, routes
from portal.routes import Route
from portal.state import polling
from portal.state.auth import SESSION_ENDED, AuthState
from portal.state.fields import field
from portal.state.models import FileRow

UPLOAD_ID = "case_upload"
POLL_SECONDS = 1.0  # a few cases, each asked once a second while its analysis runs
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
    route: ClassVar[Route] = routes.UPLOAD
    files: list[FileRow] = field(list)
    busy: bool = False
    error: str = ""
    live: bool = False
    _meta: dict[str, str] = field(dict)  # the form, for every file
    _sizes: list[int] = field(list)
    # (row index, file name, bytes, content type) of the files `deliver` has still to send
    _outbox: list[tuple[int, str, bytes, str]] = field(list)

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
        self.current_page = routes.UPLOAD.name
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
        self.files = [
            FileRow(
                index=i,
                name=str(n),
                size=self._sizes[i] if i < len(sizes) else 0,
                size_text=size_text(self._sizes[i]) if i < len(sizes) else "",
                phase="transferring",
                message="Uploading…",
            )
            for i, n in enumerate(names)
        ]
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
        """The files have reached this server. Keep their bytes and hand them to `deliver`,
        which sends them to the backend without holding this tab's state lock, so each file's
        analysis is followed (and shown) while the next one is still being sent."""
        if not files:
            self.busy = False
            if not self.files:
                self.error = "Choose or drop at least one image first."
            return
        if len(self.files) != len(files):  # the list was not announced (e.g. a direct call)
            self.files = [
                FileRow(index=i, name=f.filename or f"file {i + 1}", phase="sending")
                for i, f in enumerate(files)
            ]
        self._outbox = []
        for row, upload in zip(self.files, files, strict=True):
            data = await upload.read()
            row.size, row.size_text = len(data), size_text(len(data))
            row.phase, row.progress, row.message = "sending", TRANSFERRED, "Waiting to be sent…"
            self._outbox.append(
                (
                    row.index,
                    row.name or upload.filename or "upload",
                    data,
                    upload.content_type or "application/octet-stream",
                )
            )
        self.files = list(self.files)
        yield rx.clear_selected_files(UPLOAD_ID)
        # Started by the browser, not chained from here: an event chained from an upload
        # handler keeps the upload request open (its updates go down that response) until the
        # whole chain ends, and ends with it; this one runs, and updates, on the websocket.
        yield rx.call_script("null", callback=UploadState.deliver)

    def _row(self, index: int) -> FileRow:
        return next(f for f in self.files if f.index == index)

    @rx.event(background=True)
    async def deliver(self, result: Any = None) -> Any:
        """POST /api/cases for each file in turn; a file's row follows its case as soon as the
        backend accepts it (the poll starts with the first one)."""
        async with self:
            outbox, self._outbox = self._outbox, []
            meta = {k: v for k, v in self._meta.items() if v}
            token, headers = self._token, self._forwarded()
        following = False
        for index, name, data, content_type in outbox:
            async with self:
                self._row(index).message = "Sending to the server…"
                self.files = list(self.files)
            try:
                case = await api.call(
                    "POST",
                    "/api/cases",
                    token,
                    timeout=api.UPLOAD_TIMEOUT,
                    headers=headers,
                    data=meta,
                    files={"file": (name, data, content_type)},
                )
            except api.ApiError as e:
                async with self:
                    row = self._row(index)
                    row.phase, row.progress, row.message = "refused", 100, e.detail
                    self.files = list(self.files)
                    if e.unauthenticated:
                        self.busy = False
                        if self._token == token:
                            self._end_session(SESSION_ENDED)
                if e.unauthenticated:
                    yield rx.redirect("/login")
                    return
                continue
            async with self:
                row = self._row(index)
                row.case_id = str(case.get("id", ""))
                self._follow(row, case)
                self.files = list(self.files)
                active = row.phase in fmt.ACTIVE_STATUSES
            if active and not following:
                following = True
                yield UploadState.poll
        async with self:
            self.busy = False

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

    def _pending(self) -> list[str] | None:
        """The cases still being analysed, while any are or files are still being sent."""
        pending = [f.case_id for f in self.files if f.case_id and f.phase in fmt.ACTIVE_STATUSES]
        return pending if pending or self.busy else None

    async def _fetch_cases(self, token: str, case_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The pending cases, asked at once; one that fails is shown as it was this round."""
        answers = await asyncio.gather(
            *(polling.get_case(token, i) for i in case_ids), return_exceptions=True
        )
        for answer in answers:
            if isinstance(answer, api.ApiError) and answer.unauthenticated:
                raise answer
            if isinstance(answer, BaseException) and not isinstance(answer, api.ApiError):
                raise answer
        return {i: a for i, a in zip(case_ids, answers, strict=True) if isinstance(a, dict)}

    def _show_polled(self, _: list[str], found: dict[str, dict[str, Any]]) -> bool:
        for f in self.files:
            if f.case_id in found:
                self._follow(f, found[f.case_id])
        self.files = list(self.files)
        return True

    @rx.event(background=True)
    async def poll(self) -> None:
        """Follow every accepted file's case until all are analysed (not only this page's
        lifetime: the rows are there again when the user comes back)."""
        await polling.poll(
            self,
            every=POLL_SECONDS,
            most=POLL_MAX_SECONDS,
            ask=self._pending,
            fetch=self._fetch_cases,
            apply=self._show_polled,
        )
