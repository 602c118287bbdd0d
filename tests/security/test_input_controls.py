"""Every text input refuses NUL, other C0/C1 controls and bidi formatting characters (400 naming
the field), and paging parameters are bounded.

What the probe found: on PostgreSQL a NUL in the sign-in email (anonymously), the search, the
upload fields or a token name reached the driver (a 500; a failed upload left an orphan S3
object); a right-to-left override in patient_ref reordered the worklist's text, so one patient's
reference could be made to read as another's; offset=2^63 was a 500 on SQLite and PostgreSQL.

The inputs are not listed by hand: every string input the OpenAPI schema documents (query and
path parameters, JSON body properties, multipart form fields and upload file names) gets each
refused character, so a field added later is covered without editing this file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest

from tests.backend.backend_testkit import Stack, png_bytes, upload_files

BOUNDARY = "medsegtext-test-boundary"
REFUSED = {
    "NUL": "\x00",
    "ESC": "\x1b",
    "DEL": "\x7f",
    "C1 CSI": "\x9b",
    "RLO": "\u202e",  # RIGHT-TO-LEFT OVERRIDE: the worklist spoof
    "RLI": "\u2067",  # RIGHT-TO-LEFT ISOLATE
    "RLM": "\u200f",  # RIGHT-TO-LEFT MARK
}


@dataclass(frozen=True)
class StringInput:
    method: str
    path: str
    where: str  # query | path | application/json | multipart/form-data
    name: str  # dotted for nested JSON properties
    binary: bool = False  # an uploaded file: its file name is the text input

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.where}:{self.name}"


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return components[ref.rsplit("/", 1)[-1]] if ref else schema


def _variants(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _resolve(schema, components)
    alternatives = schema.get("oneOf") or schema.get("anyOf")
    if alternatives:
        return [v for alt in alternatives for v in _variants(alt, components)]
    return [schema]


def _is_string(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    for variant in _variants(schema, components):
        kind = variant.get("type")
        if kind == "string" or (isinstance(kind, list) and "string" in kind):
            return True
    return False


def _properties(
    schema: dict[str, Any], components: dict[str, Any], prefix: str = ""
) -> Iterator[tuple[str, dict[str, Any]]]:
    for variant in _variants(schema, components):
        for name, prop in (variant.get("properties") or {}).items():
            yield f"{prefix}{name}", prop
            yield from _properties(prop, components, f"{prefix}{name}.")


def string_inputs(schema: dict[str, Any]) -> list[StringInput]:
    components = schema.get("components", {}).get("schemas", {})
    found: list[StringInput] = []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            for p in op.get("parameters", []):
                if p["in"] in ("query", "path") and _is_string(p["schema"], components):
                    found.append(StringInput(method.upper(), path, p["in"], p["name"]))
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                for name, prop in _properties(content["schema"], components):
                    if _is_string(prop, components):
                        binary = any(
                            v.get("format") == "binary" for v in _variants(prop, components)
                        )
                        found.append(StringInput(method.upper(), path, media, name, binary))
    return found


@pytest.fixture(scope="module")
async def openapi(stack: Stack) -> dict[str, Any]:
    r = await stack.client.get("/api/schema/openapi.json")
    assert r.status_code == 200
    return dict(r.json())


@pytest.fixture(scope="module")
async def done_case(stack: Stack, clinician: Any) -> str:
    r = await stack.client.post(
        "/api/cases", headers=clinician[1], files=upload_files(png_bytes(48, 40))
    )
    assert r.status_code == 202, r.text
    await stack.finish_case(r.json()["id"])
    return str(r.json()["id"])


def _nested(name: str, value: str) -> dict[str, Any]:
    head, _, rest = name.partition(".")
    return {head: _nested(rest, value) if rest else value}


async def _send(
    stack: Stack, headers: dict[str, str], target: StringInput, value: str, case_id: str
) -> Any:
    path = target.path
    if target.where == "path":
        path = path.replace(f"{{{target.name}}}", quote(value, safe=""))
    path = path.replace("{case_id}", case_id)
    for segment in ("{user_id}", "{model_id}", "{token_id}"):
        path = path.replace(segment, "1")
    if target.where == "path":
        return await stack.client.request(target.method, path, headers=headers)
    if target.where == "query":
        return await stack.client.request(
            target.method, path, headers=headers, params={target.name: value}
        )
    if target.where == "application/json":
        return await stack.client.request(
            target.method, path, headers=headers, json=_nested(target.name, value)
        )
    assert target.where == "multipart/form-data", target
    if target.binary:  # raw: httpx would percent-encode a control character in a file name
        body = (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{target.name}"; '
                f'filename="chest{value}gnp.png"\r\nContent-Type: image/png\r\n\r\n'
            ).encode()
            + png_bytes(32, 32)
            + f"\r\n--{BOUNDARY}--\r\n".encode()
        )
        return await stack.client.request(
            target.method,
            path,
            content=body,
            headers={**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
    return await stack.client.request(
        target.method,
        path,
        headers=headers,
        files=upload_files(png_bytes(32, 32)),
        data={target.name: f"MRN{value}42"},
    )


def _names_the_field(body: dict[str, Any], field: str) -> bool:
    detail = str(body.get("detail", ""))
    return field in detail and ("control" in detail or "bidirectional" in detail)


async def test_the_schema_has_the_probe_s_inputs(openapi: dict[str, Any]) -> None:
    """The enumeration below sees the inputs the probe used (so it cannot pass by seeing none)."""
    seen = {str(i) for i in string_inputs(openapi)}
    for expected in (
        "POST /api/auth/login application/json:email",
        "GET /api/cases query:q",
        "POST /api/cases multipart/form-data:patient_ref",
        "POST /api/cases multipart/form-data:file",
        "POST /api/auth/tokens application/json:name",
        "GET /api/cases/{case_id} path:case_id",
    ):
        assert expected in seen, sorted(seen)
    assert len(seen) > 30


@pytest.mark.parametrize("char", sorted(REFUSED))
async def test_every_string_input_refuses_controls_and_bidi(
    stack: Stack, admin: Any, openapi: dict[str, Any], done_case: str, char: str
) -> None:
    value = REFUSED[char]
    cases_before, objects_before = await stack.case_count(), stack.object_count()
    wrong: list[str] = []
    for target in string_inputs(openapi):
        headers = {} if target.path == "/api/auth/login" else admin[1]  # sign-in: anonymous
        r = await _send(stack, headers, target, value, done_case)
        if r.status_code != 400 or not _names_the_field(r.json(), target.name.split(".")[-1]):
            wrong.append(f"{target}: {r.status_code} {r.text[:160]}")
    assert not wrong, "\n".join(wrong)
    assert await stack.case_count() == cases_before  # no upload was stored
    assert stack.object_count() == objects_before  # and no orphan object was left in S3


async def test_anonymous_sign_in_with_nul_is_400(stack: Stack) -> None:
    r = await stack.client.post(
        "/api/auth/login", json={"email": "a\x00@example.org", "password": "x"}
    )
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["key"] == "email"


async def test_bidi_override_in_patient_ref_cannot_spoof_the_worklist(
    stack: Stack, clinician: Any
) -> None:
    spoof = "MRN-\u202e2400"  # shows as "MRN-0042" once the override reverses the digits
    r = await stack.client.post(
        "/api/cases",
        headers=clinician[1],
        files=upload_files(png_bytes(32, 32)),
        data={"patient_ref": spoof},
    )
    assert r.status_code == 400, r.text
    assert "patient_ref" in r.json()["detail"] and "U+202E" in r.json()["detail"]
    listed = await stack.client.get("/api/cases", headers=clinician[1], params={"q": "2400"})
    assert all("\u202e" not in (c["patient_ref"] or "") for c in listed.json()["items"])


async def test_ordinary_text_still_passes(stack: Stack, clinician: Any, admin: Any) -> None:
    """Tab, line breaks (CRLF from a browser's textarea too) and any script are text."""
    r = await stack.client.post(
        "/api/cases",
        headers=clinician[1],
        files=upload_files(png_bytes(32, 32)),
        data={"patient_ref": "Müller-ذكي-42", "notes": "line one\r\nline two\n\tindented"},
    )
    assert r.status_code == 202, r.text
    assert r.json()["notes"] == "line one\r\nline two\n\tindented"
    assert r.json()["patient_ref"] == "Müller-ذكي-42"
    found = await stack.client.get("/api/cases", headers=clinician[1], params={"q": "Müller"})
    assert found.status_code == 200 and found.json()["total"] >= 1
    users = await stack.client.get(
        "/api/admin/users", headers=admin[1], params={"q": "דוד"}
    )  # Hebrew needs no bidi control
    assert users.status_code == 200, users.text


async def test_json_keys_and_nested_values_are_checked(
    stack: Stack, reviewer: Any, done_case: str
) -> None:
    r = await stack.client.post(
        f"/api/cases/{done_case}/review",
        headers=reviewer[1],
        json={"decision": "edit", "zone_flags": {"left\x00upper": True}},
    )
    assert r.status_code == 400, r.text
    assert "zone_flags" in r.json()["detail"] and "U+0000" in r.json()["detail"]


OFFSETS = ["/api/cases", "/api/admin/users", "/api/admin/audit"]


@pytest.mark.parametrize("path", OFFSETS)
@pytest.mark.parametrize("offset", [2**63, 2**63 - 1, 2**31])
async def test_huge_offset_is_400(stack: Stack, admin: Any, path: str, offset: int) -> None:
    r = await stack.client.get(path, headers=admin[1], params={"offset": str(offset)})
    assert r.status_code == 400, r.text
    assert "offset" in r.json()["detail"]


@pytest.mark.parametrize("path", OFFSETS)
async def test_largest_offset_answers_an_empty_page(stack: Stack, admin: Any, path: str) -> None:
    r = await stack.client.get(path, headers=admin[1], params={"offset": str(2**31 - 1)})
    assert r.status_code == 200, r.text
    assert r.json()["items"] == []
