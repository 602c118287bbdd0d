"""The images install pyproject.toml's dependencies and nothing else (docker/requirements.py), so
every third-party package the backend, the inference core or the deploy tooling imports must be
declared there, directly or as a dependency of a declared package. A package that is only in a
developer's .venv works in tests and breaks the containers; this test says which."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
#: What the backend, worker and model-server images run (frontend/ has its own requirements).
SCANNED = ("backend", "inference", "deploy")
LOCAL = {"backend", "inference", "deploy", "training", "medsegtext", "frontend", "tests"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_top_level_modules() -> dict[str, set[str]]:
    """module -> files importing it (every import, also inside functions)."""
    found: dict[str, set[str]] = {}
    for package in SCANNED:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top not in LOCAL and top not in sys.stdlib_module_names:
                        found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def installed_closure(requirements: list[str]) -> set[str]:
    """Distributions the requirements pull in, as pip would resolve them here."""
    seen: set[str] = set()
    todo = [(Requirement(r), frozenset(Requirement(r).extras)) for r in requirements]
    while todo:
        req, extras = todo.pop()
        name = _canonical(req.name)
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue
        for raw in dist.requires or []:
            sub = Requirement(raw)
            if sub.marker is not None and not any(
                sub.marker.evaluate({"extra": e}) for e in (*extras, "")
            ):
                continue
            todo.append((sub, frozenset(sub.extras)))
    return {k.split("[")[0] for k in seen}


def test_every_imported_package_is_a_declared_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = installed_closure(list(project["dependencies"]))
    providers = metadata.packages_distributions()
    missing = {}
    for module, files in sorted(imported_top_level_modules().items()):
        dists = {_canonical(d) for d in providers.get(module, [module])}
        if not dists & declared:
            missing[module] = f"{'/'.join(sorted(dists))} (imported by {', '.join(sorted(files))})"
    assert not missing, (
        "imported but not in pyproject.toml [project.dependencies], so absent "
        f"from the images: {missing}"
    )
