"""The folder the node spools arriving data sets into, and what keeps it from filling up.

pynetdicom writes each C-STORE's data set to a temporary file (so an instance is never held in
memory whole) and removes it once the handler has answered. What it leaves behind: the file of
a data set whose association ended midway (the sender aborted, the network dropped, the node
was killed), which no handler ever sees. So the node spools into a folder of its own, empties
it at start (nothing is being received yet), and every few seconds removes a spooled file that
no handler holds and that has not grown for dicom_spool_max_idle_seconds (longer than the
node's network timeout, after which a receive is abandoned anyway).
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from backend.platform.logs import get_logger
from backend.settings import Settings

log = get_logger("dicom_node")

PATTERN = "tmp*.dcm"  # pynetdicom's NamedTemporaryFile(suffix=".dcm")


def spool_dir(settings: Settings) -> Path:
    if settings.dicom_spool_dir:
        return Path(settings.dicom_spool_dir)
    return Path(tempfile.gettempdir()) / f"medsegtext-dicom-{settings.dicom_port}"


class Spool:
    def __init__(self, folder: Path, max_idle_seconds: float):
        self.folder = folder
        self.max_idle = max_idle_seconds
        self._held: set[Path] = set()
        self._lock = threading.Lock()

    def open(self) -> None:
        """Create the folder (owner only), remove what a previous run left, and make it where
        pynetdicom spools: its NamedTemporaryFile takes no folder, so the process's temporary
        folder is set (the node is a process of its own)."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        removed = self._remove(list(self.folder.glob(PATTERN)))
        if removed:
            log.info(
                "spool emptied at start", extra={"removed": removed, "folder": str(self.folder)}
            )
        tempfile.tempdir = str(self.folder)

    @contextlib.contextmanager
    def holding(self, path: Path) -> Iterator[Path]:
        """Mark a spooled file as being handled, so the sweep leaves it alone."""
        with self._lock:
            self._held.add(path)
        try:
            yield path
        finally:
            with self._lock:
                self._held.discard(path)

    def sweep(self, now: float | None = None) -> int:
        """Remove abandoned spooled files; how many were removed."""
        cutoff = (time.time() if now is None else now) - self.max_idle
        with self._lock:
            held = set(self._held)
        stale = []
        for path in self.folder.glob(PATTERN):
            with contextlib.suppress(FileNotFoundError):  # pynetdicom removed it meanwhile
                if path not in held and path.stat().st_mtime < cutoff:
                    stale.append(path)
        removed = self._remove(stale)
        if removed:
            log.warning(
                "abandoned spool files removed (associations that ended mid-instance)",
                extra={"removed": removed, "folder": str(self.folder)},
            )
        return removed

    @staticmethod
    def _remove(paths: list[Path]) -> int:
        removed = 0
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
        return removed
