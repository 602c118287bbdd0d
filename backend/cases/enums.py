"""A case's job status and requested priority: the one definition the models, services, worker,
triage and API schemas share (stored as these strings in SQL). Imports nothing but the standard
library, so any layer may use it."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    """Where the case's analysis stands: queued, running, then done, failed or out_of_scope
    (the film is not a frontal chest radiograph; no findings)."""

    QUEUED = "queued"  # saved, waiting for the worker
    RUNNING = "running"  # a worker is analysing it
    DONE = "done"  # results stored
    FAILED = "failed"  # the analysis gave up; `error` says why
    OUT_OF_SCOPE = "out_of_scope"  # the scope gate refused the film: no findings


class Priority(StrEnum):
    """The uploader's requested priority; stat needs a reason."""

    ROUTINE = "routine"
    URGENT = "urgent"
    STAT = "stat"  # needs a priority_reason; limited per user per hour


# the job is over, whatever its outcome
FINISHED = frozenset({CaseStatus.DONE, CaseStatus.FAILED, CaseStatus.OUT_OF_SCOPE})
