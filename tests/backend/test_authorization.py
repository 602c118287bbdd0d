"""Every endpoint against every role: anonymous 401, wrong role 403, another clinician's case 404.

One done case owned by clinician A; the callers are A, another clinician B, a reviewer and an
admin. A case's existence never leaks to B (404, not 403), except where the role alone forbids
the action (a clinician may never review: 403 whatever the case).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.backend.backend_testkit import Stack, png_bytes, upload_files

ROLES = ("anonymous", "owner", "other_clinician", "reviewer", "admin")


@dataclass(frozen=True)
class Rule:
    method: str
    path: str
    expect: tuple[int, int, int, int, int]  # in ROLES order
    body: str | None = None  # "review" | "token" | "user" | "patch" | "upload" | "export"
    # | "password" | "import"


RULES = [
    Rule("GET", "/api/health", (200, 200, 200, 200, 200)),
    Rule("GET", "/api/ready", (200, 200, 200, 200, 200)),
    Rule("GET", "/api/schema/openapi.json", (200, 200, 200, 200, 200)),
    Rule("GET", "/api/me", (401, 200, 200, 200, 200)),
    Rule("GET", "/api/auth/tokens", (401, 200, 200, 200, 200)),
    Rule("POST", "/api/auth/tokens", (401, 201, 201, 201, 201), "token"),
    Rule("DELETE", "/api/auth/tokens/999999", (401, 404, 404, 404, 404)),
    # another user's token is "not found"; the owner may revoke it (the last caller to try)
    Rule("DELETE", "/api/auth/tokens/{owner_token}", (401, 204, 404, 404, 404)),
    Rule("POST", "/api/cases", (401, 202, 202, 403, 202), "upload"),
    Rule("GET", "/api/cases", (401, 200, 200, 200, 200)),
    Rule("GET", "/api/cases/{case}", (401, 200, 404, 200, 200)),
    Rule("GET", "/api/cases/{case}/image", (401, 200, 404, 200, 200)),
    Rule("GET", "/api/cases/{case}/mask", (401, 200, 404, 200, 200)),
    Rule("GET", "/api/cases/{case}/overlay", (401, 200, 404, 200, 200)),
    Rule("GET", "/api/cases/{case}/preview", (401, 200, 404, 200, 200)),
    Rule("GET", "/api/cases/{case}/thumbnail", (401, 200, 404, 200, 200)),
    Rule("GET", "/api/cases/{case}/report.pdf", (401, 200, 404, 200, 200)),
    Rule("GET", "/api/cases/{case}/report.fhir.json", (401, 200, 404, 200, 200)),
    # DICOM exports of a PNG case: 409 for those who may see it, 404 for the others
    Rule("GET", "/api/cases/{case}/seg.dcm", (401, 409, 404, 409, 409)),
    Rule("GET", "/api/cases/{case}/sr.dcm", (401, 409, 404, 409, 409)),
    Rule("GET", "/api/cases/{case}/reviews", (401, 200, 404, 200, 200)),
    Rule("POST", "/api/cases/{case}/review", (401, 403, 403, 201, 201), "review"),
    Rule("GET", "/api/cases/no-such-case", (401, 404, 404, 404, 404)),
    Rule("GET", "/api/admin/users", (401, 403, 403, 403, 200)),
    Rule("POST", "/api/admin/users", (401, 403, 403, 403, 201), "user"),
    Rule("PATCH", "/api/admin/users/{owner_id}", (401, 403, 403, 403, 200), "patch"),
    Rule("GET", "/api/admin/audit", (401, 403, 403, 403, 200)),
    Rule("GET", "/api/admin/stats", (401, 403, 403, 403, 200)),
    Rule("GET", "/api/admin/audit.csv", (401, 403, 403, 403, 200)),
    Rule("GET", "/api/admin/audit/actions", (401, 403, 403, 403, 200)),
    # a wrong current password: every signed-in user may try, none changes anything here
    Rule("POST", "/api/auth/password", (401, 400, 400, 400, 400), "password"),
    Rule("GET", "/api/intended-use", (401, 200, 200, 200, 200)),
    Rule("GET", "/api/admin/models", (401, 403, 403, 403, 200)),
    Rule("GET", "/api/admin/models/999999", (401, 403, 403, 403, 404)),
    Rule("POST", "/api/admin/models/999999/activate", (401, 403, 403, 403, 404)),
    Rule("GET", "/api/admin/models/999999/agreement", (401, 403, 403, 403, 404)),
    Rule("POST", "/api/admin/datasets/export", (401, 403, 403, 403, 409), "export"),
    # an uploaded case keeps no identity (only PACS cases do): 404 for the admin
    Rule("GET", "/api/admin/cases/{case}/identity", (401, 403, 403, 403, 404)),
    Rule("GET", "/api/admin/outbox", (401, 403, 403, 403, 200)),
    # PACS search and import: reviewers and admins; this suite configures no PACS, so 409
    # (tests/dicom_node/test_pacs_query.py runs them against Orthanc)
    Rule("GET", "/api/pacs/studies?patient_id=MRN-1", (401, 403, 403, 409, 409)),
    Rule("POST", "/api/pacs/imports", (401, 403, 403, 409, 409), "import"),
]


@pytest.fixture(scope="module")
async def world(stack: Stack) -> dict[str, Any]:
    owner_id, owner = await stack.user_headers("clinician")
    _, other = await stack.user_headers("clinician")
    _, reviewer = await stack.user_headers("reviewer")
    _, admin = await stack.user_headers("admin")
    r = await stack.client.post("/api/cases", headers=owner, files=upload_files(png_bytes()))
    assert r.status_code == 202, r.text
    await stack.finish_case(r.json()["id"])
    case = await stack.get_case(r.json()["id"])
    assert case is not None and case.mask_key and case.overlay_key
    for key in (case.mask_key, case.overlay_key):  # decodable, so the reports can be made
        await stack.services.store.put(key, png_bytes(), "image/png")
    token = await stack.client.post("/api/auth/tokens", headers=owner, json={"name": "matrix"})
    return {
        "case": r.json()["id"],
        "owner_id": owner_id,
        "owner_token": token.json()["id"],
        "headers": {
            "anonymous": {},
            "owner": owner,
            "other_clinician": other,
            "reviewer": reviewer,
            "admin": admin,
        },
    }


def _request_kwargs(body: str | None) -> dict[str, Any]:
    if body == "upload":
        return {"files": upload_files(png_bytes(32, 32))}
    if body == "review":
        return {"json": {"decision": "accept"}}
    if body == "token":
        return {"json": {"name": "ci"}}
    if body == "user":
        import uuid

        return {
            "json": {
                "email": f"new-{uuid.uuid4().hex[:8]}@example.org",
                "password": "a-long-enough-password",
                "role": "clinician",
            }
        }
    if body == "password":
        return {"json": {"current_password": "not-the-password", "new_password": "x" * 12}}
    if body == "patch":
        return {"json": {"full_name": "Renamed Clinician"}}
    if body == "import":
        return {"json": {"study_instance_uid": "1.2.826.0.1.3680043.8.498.1"}}
    if body == "export":  # no case was uploaded in 2100: the admin gets 409, nothing to export
        return {"json": {"created_from": "2100-01-01T00:00:00Z"}}
    return {}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.method} {r.path}")
async def test_matrix(stack: Stack, world: dict[str, Any], rule: Rule) -> None:
    path = rule.path.format(
        case=world["case"], owner_id=world["owner_id"], owner_token=world["owner_token"]
    )
    got = []
    for role in ROLES:
        r = await stack.client.request(
            rule.method, path, headers=world["headers"][role], **_request_kwargs(rule.body)
        )
        got.append(r.status_code)
        if r.status_code >= 400:
            assert r.json().get("detail"), f"{role}: {r.text}"
    assert tuple(got) == rule.expect, dict(zip(ROLES, got, strict=True))


async def test_clinicians_list_only_their_own(stack: Stack, world: dict[str, Any]) -> None:
    other = world["headers"]["other_clinician"]
    listed = (await stack.client.get("/api/cases?limit=100", headers=other)).json()
    assert world["case"] not in [c["id"] for c in listed["items"]]
    forbidden = await stack.client.get(f"/api/cases?owner={world['owner_id']}", headers=other)
    assert forbidden.status_code == 403
    seen = await stack.client.get(
        f"/api/cases?owner={world['owner_id']}", headers=world["headers"]["reviewer"]
    )
    items = seen.json()["items"]
    assert world["case"] in [c["id"] for c in items]
    assert {c["owner_id"] for c in items} == {world["owner_id"]}
