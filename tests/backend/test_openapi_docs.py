"""The OpenAPI document, read as an API client reads it (GET /api/schema/openapi.json).

Issue 14: none of the operations had a description (Litestar published the handler's name as
the summary and dropped the docstrings), zone_flags and zone_probabilities were untyped objects,
and status, priority, role and decision were bare strings. Every operation now has a summary,
a description that says what it does and who may call it, and documents the notable refusals
its description names.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

import pytest

from backend.accounts.enums import Role
from backend.cases.enums import CaseStatus, Priority
from backend.cases.models import Case
from backend.platform.db import transaction
from backend.reviews.enums import ReviewDecision, ReviewState
from inference.result import PredictionSummary
from inference.sides import PATIENT_ZONES, Laterality
from tests.backend.backend_testkit import Stack, png_bytes, upload_files

WHO = "**Who may call:**"
# refusals that depend on the operation, not on how it is wired: its description must say when
NOTABLE = {"409", "410", "422", "429"}
CODE = re.compile(r"\b([45]\d\d)\b")
CASE_ROUTES = "/api/cases/{case_id}"


@pytest.fixture(scope="module")
async def schema(stack: Stack) -> dict[str, Any]:
    r = await stack.client.get("/api/schema/openapi.json")
    assert r.status_code == 200, r.text
    return dict(r.json())


def operations(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "responses" in op
    ]


def ref(prop: dict[str, Any]) -> set[str]:
    """The component names a property refers to (directly or in a oneOf with null)."""
    refs = [prop, *prop.get("oneOf", [])]
    return {r["$ref"].rsplit("/", 1)[1] for r in refs if "$ref" in r}


def test_every_operation_has_a_summary_and_a_description(schema: dict[str, Any]) -> None:
    ops = operations(schema)
    assert len(ops) >= 40, [name for name, _ in ops]
    missing = []
    for name, op in ops:
        summary, description = op.get("summary") or "", op.get("description") or ""
        what = description.split(WHO)[0].strip()
        # Litestar's fallback summary is the handler's name run together ("ListCases")
        if len(summary.split()) < 2 or summary.endswith("."):
            missing.append(f"{name}: summary {summary!r}")
        if len(what.split()) < 8:
            missing.append(f"{name}: no description of what it does ({description!r})")
        if WHO not in description:
            missing.append(f"{name}: does not say who may call it")
    assert not missing, "\n".join(missing)


def test_descriptions_and_documented_refusals_agree(schema: dict[str, Any]) -> None:
    wrong = []
    for name, op in operations(schema):
        named = set(CODE.findall(op["description"]))
        documented = set(op["responses"])
        for code in sorted(named - documented):
            wrong.append(f"{name}: the description names {code}, the responses do not")
        for code in sorted((documented & NOTABLE) - named):
            wrong.append(
                f"{name}: answers {code} ({op['responses'][code]['description']}) "
                "but the description does not say when"
            )
    assert not wrong, "\n".join(wrong)


def test_case_routes_document_their_refusals(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    case_routes = [p for p in paths if p.startswith(CASE_ROUTES)]
    assert len(case_routes) >= 11, case_routes
    for path in case_routes:  # any case can be withdrawn to quarantine
        for method, op in paths[path].items():
            assert {"404", "410"} <= set(op["responses"]), (method, path)
    for artifact in ("image", "preview", "mask", "overlay"):
        assert (
            "missing from the object store"
            in (paths[f"{CASE_ROUTES}/{artifact}"]["get"]["description"])
        ), artifact
    review = paths[f"{CASE_ROUTES}/review"]["post"]
    assert {"400", "403", "409", "410"} <= set(review["responses"])
    assert "stored image is missing" in review["description"]
    upload = paths["/api/cases"]["post"]
    assert {"400", "413", "415", "422", "429"} <= set(upload["responses"])
    assert "damaged" in upload["responses"]["422"]["description"]


def test_who_may_call_follows_the_guards(schema: dict[str, Any]) -> None:
    paths = schema["paths"]

    def who(path: str, method: str) -> str:
        return str(paths[path][method]["description"]).split(WHO)[1].strip()

    assert who("/api/health", "get").startswith("Anyone")
    assert who("/api/auth/login", "post").startswith("Anyone")
    assert who("/api/cases", "get").startswith("Any signed-in user")
    assert "clinician or admin role" in who("/api/cases", "post")
    assert "reviewer or admin role" in who(f"{CASE_ROUTES}/review", "post")
    for path, item in paths.items():
        if path.startswith("/api/admin/"):
            for method in item:
                assert "with the admin role" in who(path, method), (method, path)


def test_enums_are_published_once_with_their_values(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    for enum in (CaseStatus, Priority, ReviewState, ReviewDecision, Role, Laterality):
        assert components[enum.__name__]["enum"] == [e.value for e in enum], enum
    summary = components["CaseSummary"]["properties"]
    assert ref(summary["status"]) == {"CaseStatus"}
    assert ref(summary["priority"]) == {"Priority"}
    assert ref(summary["review_state"]) == {"ReviewState"}
    assert ref(summary["laterality"]) == {"Laterality"}
    assert ref(components["ReviewIn"]["properties"]["decision"]) == {"ReviewDecision"}
    assert ref(components["ReviewOut"]["properties"]["decision"]) == {"ReviewDecision"}
    assert ref(components["UserOut"]["properties"]["role"]) == {"Role"}
    params = {p["name"]: p for p in schema["paths"]["/api/cases"]["get"]["parameters"]}
    for name, enum in (
        ("status", CaseStatus),
        ("priority", Priority),
        ("review_state", ReviewState),
    ):
        assert ref(params[name]["schema"]) == {enum.__name__}, name
    role = {p["name"]: p for p in schema["paths"]["/api/admin/users"]["get"]["parameters"]}
    assert ref(role["role"]["schema"]) == {"Role"}


def test_zones_are_typed_objects_with_one_field_per_zone(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    for name, kind in (("ZoneFlags", "boolean"), ("ZoneProbabilities", "number")):
        props = components[name]["properties"]
        assert list(props) == list(PATIENT_ZONES), name
        assert sorted(components[name]["required"]) == sorted(PATIENT_ZONES), name
        assert {p["type"] for p in props.values()} == {kind}, name
    detail = components["CaseDetail"]["properties"]
    assert ref(detail["zone_flags"]) == {"ZoneFlags"}
    assert ref(detail["reviewed_zone_flags"]) == {"ZoneFlags"}
    assert ref(detail["zone_probabilities"]) == {"ZoneProbabilities"}
    assert ref(components["ReviewOut"]["properties"]["zone_flags"]) == {"ZoneFlags"}
    assert ref(components["ReviewIn"]["properties"]["zone_flags"]) == {"ZoneFlags"}


# The prediction contract's JSON type per field, as a case publishes it (inference.result); the
# model itself is published as model_name and model_version, in_scope as status out_of_scope.
PREDICTION_TYPES = {
    "width": "integer",
    "height": "integer",
    "source_format": "string",
    "findings_text": "string",
    "lesion_burden_percent": "number",
    "lesion_present": "boolean",
    "lesion_probability": "number",
    "scope_reason": "string",
    "timings_ms": "object",
    "zone_flags": "ZoneFlags",
    "zone_probabilities": "ZoneProbabilities",
    "laterality": "Laterality",
}


def test_a_cases_prediction_fields_are_typed_as_the_prediction_contract(
    schema: dict[str, Any],
) -> None:
    assert {f.name for f in fields(PredictionSummary)} - set(PREDICTION_TYPES) == {
        "model",
        "in_scope",
    }
    detail = schema["components"]["schemas"]["CaseDetail"]["properties"]
    for name, kind in PREDICTION_TYPES.items():
        prop = detail[name]
        kinds = ref(prop) | {
            p["type"] for p in [prop, *prop.get("oneOf", [])] if p.get("type") not in (None, "null")
        }
        assert kinds == {kind}, (name, prop)
    timings = detail["timings_ms"]
    timings = next(p for p in [timings, *timings.get("oneOf", [])] if p.get("type") == "object")
    assert timings["additionalProperties"]["type"] == "number"


async def _case_with_zones(
    stack: Stack, headers: dict[str, str], flags: dict[str, Any], probabilities: dict[str, Any]
) -> str:
    r = await stack.client.post("/api/cases", headers=headers, files=upload_files(png_bytes()))
    assert r.status_code == 202, r.text
    case_id = str(r.json()["id"])
    await stack.finish_case(case_id)
    async with transaction(stack.services.sessions) as db:
        case = await db.get(Case, case_id)
        assert case is not None
        case.zone_flags, case.zone_probabilities = flags, probabilities
        case.laterality = "right"
    return case_id


async def test_zones_on_the_wire_keep_their_keys(stack: Stack, clinician, reviewer) -> None:
    flags = {z: z == "patient_right_lower" for z in PATIENT_ZONES}
    probabilities = {z: round(0.1 * i, 2) for i, z in enumerate(PATIENT_ZONES)}
    case_id = await _case_with_zones(stack, clinician[1], flags, probabilities)
    body = (await stack.client.get(f"/api/cases/{case_id}", headers=clinician[1])).json()
    assert body["zone_flags"] == flags and list(body["zone_flags"]) == list(PATIENT_ZONES)
    assert body["zone_probabilities"] == probabilities
    assert (body["status"], body["priority"], body["laterality"]) == ("done", "routine", "right")

    corrected = {**flags, "patient_left_upper": True}
    r = await stack.client.post(
        f"/api/cases/{case_id}/review",
        headers=reviewer[1],
        json={"decision": "edit", "zone_flags": corrected},
    )
    assert r.status_code == 201, r.text
    assert r.json()["decision"] == "edit" and r.json()["zone_flags"] == corrected
    body = (await stack.client.get(f"/api/cases/{case_id}", headers=clinician[1])).json()
    assert body["reviewed_zone_flags"] == corrected and body["review_state"] == "edited"

    # a record missing a zone says nothing reliable per zone: null, not a partial object
    partial = await _case_with_zones(stack, clinician[1], {"patient_right_lower": True}, {})
    body = (await stack.client.get(f"/api/cases/{partial}", headers=clinician[1])).json()
    assert body["zone_flags"] is None and body["zone_probabilities"] is None


async def test_an_unknown_zone_or_decision_is_refused(stack: Stack, clinician, reviewer) -> None:
    flags = dict.fromkeys(PATIENT_ZONES, False)
    case_id = await _case_with_zones(stack, clinician[1], flags, dict.fromkeys(PATIENT_ZONES, 0.0))
    for body in (
        {"decision": "approve"},
        {"decision": "edit", "zone_flags": {**flags, "left_upper": True}},
    ):
        r = await stack.client.post(f"/api/cases/{case_id}/review", headers=reviewer[1], json=body)
        assert r.status_code == 400, (body, r.text)
