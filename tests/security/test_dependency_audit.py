"""The CI dependency audit's fallback: PyPI's project page vouches only for the latest release."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "ci_audit", Path(__file__).resolve().parents[2] / ".ci" / "audit.py"
)
assert spec is not None and spec.loader is not None
ci_audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ci_audit)

PAGES = {
    "current-ok": {"info": {"version": "2.0"}, "vulnerabilities": []},
    "current-bad": {
        "info": {"version": "1.5"},
        "vulnerabilities": [
            {"id": "PYSEC-1", "fixed_in": ["1.6"], "withdrawn": None},
            {"id": "PYSEC-2", "fixed_in": [], "withdrawn": "2024-01-01T00:00:00"},
            {"id": "GHSA-accepted", "fixed_in": ["1.7"], "withdrawn": None},
        ],
    },
    "behind": {"info": {"version": "9.0"}, "vulnerabilities": []},
}


def test_fallback_audits_latest_releases_and_names_the_rest() -> None:
    deps = [
        {
            "name": "checked-by-pip-audit",
            "version": "1.0",
            "vulns": [{"id": "PYSEC-0", "fix_versions": ["1.1"]}],
        },
        {"name": "current-ok", "version": "2.0", "skip_reason": "not found"},
        {"name": "current-bad", "version": "1.5", "skip_reason": "not found"},
        {"name": "behind", "version": "8.0", "skip_reason": "not found"},
        {"name": "unreachable", "version": "1.0", "skip_reason": "not found"},
        {"name": "medsegtext", "version": "0.1.0", "skip_reason": "editable"},
    ]
    result = ci_audit.audit(deps, {"GHSA-accepted": "does not apply"}, PAGES.get)
    assert result["pip_audit"] == 1 and result["project_page"] == 2
    assert [d["name"] for d in result["unaudited"]] == ["behind", "unreachable"]
    found = sorted((d["name"], v["id"]) for d, v in result["found"])
    assert found == [("checked-by-pip-audit", "PYSEC-0"), ("current-bad", "PYSEC-1")]
    fixes = {v["id"]: v["fix_versions"] for _, v in result["found"]}
    assert fixes["PYSEC-1"] == ["1.6"]
