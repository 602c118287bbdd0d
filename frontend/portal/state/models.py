"""Typed rows the pages render (plain dataclasses; Reflex serialises them to the browser)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CaseRow:
    id: str = ""
    short_id: str = ""
    status: str = ""
    priority: str = ""
    review_state: str = ""
    reviewer: str = ""
    patient: str = ""
    age_sex: str = ""
    filename: str = ""
    summary: str = ""  # the findings column: reviewed text, else the model's (portal/signed_off)
    findings_label: str = ""  # what that text is: "Reviewed (edited)", "Rejected — do not use"…
    findings_struck: bool = False  # rejected: the model's text, struck through
    uploaded: str = ""
    uploaded_ago: str = ""
    triage: str = ""  # why the server ranks it where it does, when it says
    triage_score: int = 0
    thumb: str = ""  # /media link of the film's thumbnail
    probability: str = "—"  # the model's lesion probability ("—": the model gives none)
    abnormal: bool = False  # the model's decision: lesion present


@dataclass
class AlertRow:
    """A new case that needs attention (STAT, urgent, or called abnormal by the model)."""

    id: str = ""
    short_id: str = ""
    patient: str = ""
    reason: str = ""
    stat: bool = False
    uploaded_ago: str = ""


@dataclass
class FindingsView:
    """The findings section of a case, signed-off result first (portal/signed_off.py)."""

    state: str = "unreviewed"  # unreviewed | accepted | edited | rejected
    heading: str = ""  # "Findings (reviewed by X)" | "Rejected by X — do not use" | "Model output…"
    reviewed: str = ""  # the signed-off text: the edit, or the model's as accepted
    model: str = ""  # the model's own sentence
    model_label: str = ""  # its label beside the signed-off text


@dataclass
class Zone:
    key: str = ""
    label: str = ""
    level: str = ""  # Upper | Middle | Lower
    probability: str = ""
    flagged: bool = False
    shade: str = ""  # CSS background: red for a flagged zone, grey otherwise
    bar: str = "0%"  # CSS width of the probability bar


@dataclass
class ReviewRow:
    id: int = 0
    decision: str = ""
    reviewer: str = ""
    findings_text: str = ""
    comment: str = ""
    at: str = ""
    zones: str = ""  # the reviewer's zone flags, in words, when the review gave them
    zones_corrected: bool = False  # they differ from the model's


@dataclass
class Timing:
    name: str = ""
    ms: str = ""


@dataclass
class FileRow:
    index: int = 0
    name: str = ""
    size: int = 0
    size_text: str = ""
    phase: str = "waiting"  # waiting|transferring|sending|queued|running|done|failed|refused
    progress: int = 0  # 0-100 across transfer, acceptance and analysis
    message: str = ""
    case_id: str = ""


@dataclass
class UserRow:
    id: int = 0
    email: str = ""
    full_name: str = ""
    role: str = ""
    is_active: bool = True
    created: str = ""
    last_login: str = ""


@dataclass
class TokenRow:
    """A personal API token or (on the admin's view of a user) a sign-in session."""

    id: int = 0
    name: str = ""
    prefix: str = ""
    created: str = ""
    expires: str = ""
    last_used: str = ""
    revoked: bool = False
    expired: bool = False
    kind: str = ""  # personal | session
    client: str = ""
    user_agent: str = ""


@dataclass
class SessionRow:
    """One of the signed-in user's live sign-in sessions (`current`: this portal tab's)."""

    id: int = 0
    created: str = ""
    last_used: str = ""
    expires: str = ""
    client: str = ""
    user_agent: str = ""
    current: bool = False


@dataclass
class AuditRow:
    id: int = 0
    at: str = ""
    user: str = ""
    action: str = ""
    target: str = ""
    client: str = ""
    detail: str = ""


@dataclass
class Stat:
    label: str = ""
    value: str = ""
    hint: str = ""


@dataclass
class ModelRow:
    id: int = 0
    name: str = ""
    version: str = ""
    status: str = ""
    sha256: str = ""
    sha_short: str = ""
    source: str = ""
    created: str = ""
    activated: str = ""
    # agreement with the reviewers
    reviewed_cases: str = ""
    shown_cases: str = ""
    shadow_cases: str = ""
    accepted_unedited: str = ""
    rejected: str = ""
    zone_cases: str = ""
    zone_f1: str = ""
    exact_match: str = ""


@dataclass
class AgreementRow:
    model: str = ""
    reviewed_cases: str = ""
    shown_cases: str = ""
    shadow_cases: str = ""
    accepted_unedited: str = ""
    rejected: str = ""
    zone_cases: str = ""
    zone_f1: str = ""
    exact_match: str = ""


@dataclass
class StudyRow:
    """A study the PACS search found, and what importing it did."""

    uid: str = ""
    patient_id: str = ""
    accession: str = ""
    date: str = ""
    description: str = ""
    modalities: str = ""
    instances: str = ""
    outcome: str = ""  # after an import: what it made
    imported: bool = False  # an import made at least one case
