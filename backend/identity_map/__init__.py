"""identity_map domain: the original identifiers of cases that came from a PACS (issue 16).

A case is de-identified like an upload; to send its results back into the same study under the
same patient, the node keeps the original UIDs and patient identifiers here, sealed (AES-GCM)
in a table of their own. Only the PACS sender (backend.pacs_outbox) and admins read them, and
every read is audited. Modules: identifiers (what is kept, read from the header), sealing (the
key and the cipher), models (the table), service (keep, read), controller (the admin's read).
CONTROLLERS is loaded on first use, so the models import no web layer.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "CONTROLLERS":
        from backend.identity_map.controller import CONTROLLERS

        return CONTROLLERS
    raise AttributeError(name)
