"""The FHIR R4 DiagnosticReport of a case: one contained Observation per zone probability plus
lesion burden and laterality; status by review state (unreviewed: preliminary; accepted or
edited: final; rejected: entered-in-error, FHIR's "withdrawn: should never have existed", i.e.
the model's findings must not be relied on; `cancelled` would say the study was never done).

`conclusion` is the signed-off result: the reviewer's findings when accepted or edited; for a
rejected case the "Rejected by X — do not use" notice, never the model's sentence; for an
unreviewed one the model's sentence, labelled as awaiting review. The model's own sentence is
always kept, apart and unchanged, in the MODEL_OUTPUT_EXTENSION (its URL is its label).

Checked against the fhir.resources R4B models (R4B: the 4.3 release of R4; these two resources
are the same as in 4.0.1)."""

from __future__ import annotations

from typing import Any

from backend.reports.context import DISCLAIMER, REJECTED_NOTE, SIDE_NOTE, ReportData, zone_label
from backend.reviews.enums import ReviewState
from inference.sides import PATIENT_ZONES

MEDSEGTEXT = "urn:medsegtext:codes"
UCUM = "http://unitsofmeasure.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
NOTICE_EXTENSION = "urn:medsegtext:fhir:decision-support-notice"
MODEL_OUTPUT_EXTENSION = "urn:medsegtext:fhir:model-output"  # the model's own sentence
REPORT_STATUS = {
    ReviewState.UNREVIEWED: "preliminary",
    ReviewState.ACCEPTED: "final",
    ReviewState.EDITED: "final",
    ReviewState.REJECTED: "entered-in-error",
}
OBSERVATION_STATUS = {
    "preliminary": "preliminary",
    "final": "final",
    "entered-in-error": "entered-in-error",
}


def _code(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": MEDSEGTEXT, "code": code, "display": display}], "text": display}


def _observation(
    obs_id: str, status: str, code: dict[str, Any], data: ReportData, **value: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": obs_id,
        "status": status,
        "category": [
            {"coding": [{"system": OBS_CATEGORY, "code": "imaging", "display": "Imaging"}]}
        ],
        "code": code,
        "method": {"text": data.model_label},
        "effectiveDateTime": (data.case.acquired_at or data.case.created_at).isoformat(),
        **value,
    }


def _flag(positive: bool) -> list[dict[str, Any]]:
    code, display = ("POS", "Positive") if positive else ("NEG", "Negative")
    return [{"coding": [{"system": INTERPRETATION, "code": code, "display": display}]}]


def observations(data: ReportData, status: str) -> list[dict[str, Any]]:
    c = data.case
    probs, final, model = c.zone_probabilities or {}, data.final_flags, data.model_flags
    out = []
    for zone in PATIENT_ZONES:
        if zone not in probs:
            continue
        obs = _observation(
            f"zone-{zone.replace('_', '-')}",
            status,
            _code(f"lesion-probability-{zone}", f"Lesion probability, {zone_label(zone)} zone"),
            data,
            valueQuantity={
                "value": round(float(probs[zone]), 4),
                "unit": "probability",
                "system": UCUM,
                "code": "1",
            },
            interpretation=_flag(final[zone]),
        )
        if data.outcome.zone_flags is not None and final[zone] != model[zone]:
            obs["note"] = [
                {
                    "text": f"Reviewer corrected the model's flag "
                    f"({'lesion' if model[zone] else 'clear'} -> "
                    f"{'lesion' if final[zone] else 'clear'})."
                }
            ]
        out.append(obs)
    if c.lesion_burden_percent is not None:
        out.append(
            _observation(
                "lesion-burden",
                status,
                _code("lesion-burden", "Lesion burden, % of image area"),
                data,
                valueQuantity={
                    "value": round(float(c.lesion_burden_percent), 3),
                    "unit": "%",
                    "system": UCUM,
                    "code": "%",
                },
            )
        )
    if c.laterality:
        out.append(
            _observation(
                "laterality",
                status,
                _code("laterality", "Laterality of lesions"),
                data,
                valueCodeableConcept=_code(f"laterality-{c.laterality}", c.laterality),
            )
        )
    return out


def _conclusion(data: ReportData) -> str | None:
    """The signed-off findings; a rejection's notice; or the model's, labelled unreviewed."""
    if data.outcome.state == ReviewState.REJECTED:
        return f"{data.findings_heading}. {REJECTED_NOTE}"
    if data.signed_off_text:
        return data.signed_off_text
    model = data.case.findings_text
    return f"{data.findings_heading}: {model}" if model else None


def diagnostic_report(data: ReportData) -> dict[str, Any]:
    c, o = data.case, data.outcome
    status = REPORT_STATUS.get(o.state, "preliminary")
    contained = observations(data, OBSERVATION_STATUS[status])
    issued = o.reviewed_at or c.finished_at or data.generated_at
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": c.id,
        "extension": [
            {"url": NOTICE_EXTENSION, "valueString": f"{DISCLAIMER} {SIDE_NOTE}"},
            *(
                [{"url": MODEL_OUTPUT_EXTENSION, "valueString": c.findings_text}]
                if c.findings_text
                else []
            ),
        ],
        "identifier": [{"system": "urn:medsegtext:case", "value": c.id}],
        "status": status,
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                        "code": "RAD",
                        "display": "Radiology",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {
                    "system": "http://loinc.org",
                    "code": "18748-4",
                    "display": "Diagnostic imaging study",
                }
            ],
            "text": "Chest X-ray lesion segmentation and findings (decision support)",
        },
        "effectiveDateTime": (c.acquired_at or c.created_at).isoformat(),
        "issued": issued.isoformat(),
        "contained": contained,
        "result": [{"reference": f"#{obs['id']}"} for obs in contained],
    }
    if conclusion := _conclusion(data):
        report["conclusion"] = conclusion
    if c.patient_ref:
        report["subject"] = {
            "identifier": {"value": c.patient_ref},
            "display": f"Patient {c.patient_ref}",
        }
    if o.review is not None:
        report["resultsInterpreter"] = [{"display": o.reviewer_name or "reviewer"}]
    return report


def validated(report: dict[str, Any]) -> dict[str, Any]:
    """Raise if the resource is not valid FHIR (R4B models); return it unchanged."""
    from fhir.resources.R4B.diagnosticreport import DiagnosticReport  # on use: ~0.2 s

    DiagnosticReport.model_validate(report)
    return report
