"""The UIDs of what is sent, derived (not random) so the same object always has the same UID:
a row knows its SOP Instance UID from the moment it is queued, a re-send is the same instance,
and each case's SEG, SR and overlay versions stay in one series per kind."""

from __future__ import annotations

from pydicom.uid import generate_uid

from backend.pacs_outbox.models import Kind


def _derived(*parts: str) -> str:
    return str(generate_uid(entropy_srcs=["medsegtext-pacs", *parts]))


def series_uid(case_id: str, kind: Kind) -> str:
    return _derived(case_id, "series", kind)


def instance_uid(case_id: str, kind: Kind, event: str) -> str:
    """`event` names what the object carries: "review-<id>" or "model-<version>"."""
    return _derived(case_id, "instance", kind, event)
