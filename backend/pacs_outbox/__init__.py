"""pacs_outbox domain: a PACS case's results go back to the PACS, into the same study (issue 16).

When a review signs a PACS case off, the review's transaction also queues its objects (queue:
what is sent when); the worker sends them by C-STORE (deliver, scu), re-identified from the
identity map (backend.identity_map) and built from the stored film, mask and overlay
(objects), and retries with backoff while the PACS is away (jobs: a job right after the review,
and a sweep every few seconds). Modules: models (the outbox table), repository (its SQL),
uids, queue, objects, scu, deliver, jobs, controller (an admin's view of the outbox).
CONTROLLERS is loaded on first use, so the models import no web layer.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "CONTROLLERS":
        from backend.pacs_outbox.controller import CONTROLLERS

        return CONTROLLERS
    raise AttributeError(name)
