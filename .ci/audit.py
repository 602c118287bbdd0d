"""Dependency vulnerability audit of the project's environment (.venv), run by `make audit`.

Two sources, both PyPI's advisory data (OSV, the Python Packaging Advisory Database, GitHub):
1. pip-audit, which asks PyPI per installed version (`/pypi/<name>/<version>/json`);
2. for what pip-audit could not look up: PyPI's project page (`/pypi/<name>/json`), whose
   `vulnerabilities` are those of the latest release, so it audits a package exactly when the
   installed version *is* the latest release. (The sandboxed CI here reaches PyPI's project
   pages but not its per-version ones, so this is what audits most packages there.)

Outcomes:
- a known vulnerability not listed in .ci/audit-ignore.txt: exit 1, naming it and its fix;
- packages neither source could audit are named; they fail the audit only with AUDIT_STRICT=1;
- otherwise exit 0, with how many packages each source checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

IGNORE_FILE = Path(__file__).with_name("audit-ignore.txt")
PROJECT = "medsegtext"  # the editable project itself: not on PyPI
PYPI = os.environ.get("AUDIT_PYPI_URL", "https://pypi.org/pypi")


def ignored() -> dict[str, str]:
    """Vulnerability id -> the reason it is accepted (one per line: ID  # reason)."""
    out = {}
    for line in IGNORE_FILE.read_text().splitlines():
        vid, _, reason = line.partition("#")
        if vid.strip():
            out[vid.strip()] = reason.strip()
    return out


def _key(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def pip_audit(pinned: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """pip-audit's per-package records, each with its installed version (pip-audit leaves it out
    of those it skipped); every package marked skipped if pip-audit failed. `pinned` (name ->
    version, e.g. what an image holds: docker/image_report.py) instead of this environment."""
    installed = pinned or {_key(d.metadata["Name"]): d.version for d in metadata.distributions()}
    args = ["--skip-editable"]
    if pinned is not None:
        req = Path(os.environ.get("TMPDIR", "/tmp")) / f"audit-{os.getpid()}.txt"
        req.write_text("".join(f"{n}=={v}\n" for n, v in pinned.items()))
        args = ["-r", str(req), "--no-deps", "--disable-pip"]
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("pip-audit")),
            *args,
            "--progress-spinner",
            "off",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
    )
    if pinned is not None:
        req.unlink()
    try:
        deps = list(json.loads(run.stdout)["dependencies"])
    except (json.JSONDecodeError, KeyError):
        reason = f"pip-audit failed (exit {run.returncode}): {run.stderr.strip()[-300:]}"
        deps = [{"name": n, "skip_reason": reason} for n in installed]
    return [{"version": installed.get(_key(d["name"]), "?"), **d} for d in deps]


def project_page(name: str) -> dict[str, Any] | None:
    """PyPI's project JSON, or None when it cannot be fetched."""
    try:
        with urllib.request.urlopen(f"{PYPI}/{name}/json", timeout=20) as r:
            return dict(json.load(r))
    except (OSError, ValueError):
        return None


def latest_release_vulns(
    dep: dict[str, Any],
    fetch: Callable[[str], dict[str, Any] | None],
) -> list[dict[str, Any]] | None:
    """The dependency's vulnerabilities in pip-audit's shape, or None when the project page
    cannot vouch for the installed version (unreachable, or not the latest release)."""
    page = fetch(dep["name"])
    if page is None or page.get("info", {}).get("version") != dep["version"]:
        return None
    return [
        {"id": v["id"], "fix_versions": v.get("fixed_in") or []}
        for v in page.get("vulnerabilities") or []
        if not v.get("withdrawn")
    ]


def audit(
    deps: list[dict[str, Any]],
    accepted: dict[str, str],
    fetch: Callable[[str], dict[str, Any] | None],
) -> dict[str, Any]:
    """Split the packages by who audited them and collect the vulnerabilities not accepted."""
    by_pip_audit = [d for d in deps if not d.get("skip_reason")]
    skipped = [d for d in deps if d.get("skip_reason") and _key(d["name"]) != PROJECT]
    with ThreadPoolExecutor(16) as pool:
        fallback = pool.map(lambda d: latest_release_vulns(d, fetch), skipped)
        by_page, unaudited = [], []
        for dep, vulns in zip(skipped, fallback, strict=True):
            if vulns is None:
                unaudited.append(dep)
            else:
                by_page.append(dict(dep, vulns=vulns))
    found = [
        (d, v)
        for d in by_pip_audit + by_page
        for v in d.get("vulns", [])
        if v["id"] not in accepted
    ]
    return {
        "pip_audit": len(by_pip_audit),
        "project_page": len(by_page),
        "unaudited": unaudited,
        "found": found,
    }


def main() -> int:
    accepted = ignored()
    result = audit(pip_audit(), accepted, project_page)
    for dep, vuln in result["found"]:
        fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed release"
        print(f"VULNERABLE: {dep['name']} {dep['version']}: {vuln['id']} (fixed in: {fixes})")
    for vid, reason in accepted.items():
        print(f"accepted: {vid}: {reason}")
    unaudited = result["unaudited"]
    print(
        f"dependency audit: {result['pip_audit'] + result['project_page']} packages checked "
        f"({result['pip_audit']} by pip-audit per version, {result['project_page']} at their "
        f"latest release by PyPI's project page), {len(result['found'])} known "
        "vulnerabilities"
    )
    if unaudited:
        print(
            f"NOT AUDITED: {len(unaudited)} packages (older than their latest release, and "
            "PyPI's per-version data unreachable): "
            + ", ".join(f"{d['name']} {d['version']}" for d in unaudited)
        )
    if result["found"]:
        return 1
    if unaudited and os.environ.get("AUDIT_STRICT") == "1":
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
