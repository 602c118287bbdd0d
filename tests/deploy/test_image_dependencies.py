"""The images install pyproject.toml's dependencies and nothing else, each image only the part it
runs (docker/requirements.py), so every third-party package the backend, the inference core or
the deploy tooling imports must be declared there, and every import an image's entry points can
reach (through the project's own modules, imports inside functions included) must be installed
in that image, and every project file they reach copied into it. A package that is only in a
developer's .venv, or left out of an image that needs it, or a module an image's COPY lines
miss, works in tests and breaks the containers; these tests say which."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import shlex
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docker"))
from requirements import requirements  # noqa: E402  (docker/requirements.py)

from tests.deploy.test_dockerfiles import (  # noqa: E402
    dockerfile,
    dockerignore_patterns,
    ignored,
    parse,
)

#: What the backend, worker and model-server images run (frontend/ has its own requirements).
SCANNED = ("backend", "inference", "deploy")
LOCAL = {"backend", "inference", "deploy", "training", "medsegtext", "frontend", "tests"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imports_of(path: Path) -> set[str]:
    """Absolute module names a file imports (every import, also inside functions)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def third_party(name: str) -> str | None:
    top = name.split(".")[0]
    return None if top in LOCAL or top in sys.stdlib_module_names else top


def imported_top_level_modules() -> dict[str, set[str]]:
    """module -> files importing it."""
    found: dict[str, set[str]] = {}
    for package in SCANNED:
        for path in (ROOT / package).rglob("*.py"):
            for name in imports_of(path):
                if top := third_party(name):
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def module_file(name: str) -> Path | None:
    base = ROOT / name.replace(".", "/")
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def reach(entries: list[Path]) -> tuple[set[Path], dict[str, str]]:
    """(every project file the entry files reach, third-party top-level module -> the project
    file that imports it); a package's __init__ counts as imported with it."""
    found: dict[str, str] = {}
    seen: set[Path] = set()
    todo = list(entries)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imports_of(path):
            if top := third_party(name):
                found.setdefault(top, str(path.relative_to(ROOT)))
                continue
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                if (f := module_file(".".join(parts[:i]))) is not None:
                    todo.append(f)
    return seen, found


def copied_files(image: str) -> set[Path]:
    """The project's Python files the image's COPY instructions take from the build context
    (a folder whole, less what .dockerignore leaves out)."""
    patterns = dockerignore_patterns()
    out: set[Path] = set()
    for stage in parse(dockerfile(image))[1]:
        for args in stage.all("COPY"):
            words = shlex.split(args)
            if any(w.startswith("--from") for w in words):
                continue
            for source in (w for w in words[:-1] if not w.startswith("--")):
                for match in ROOT.glob(source):
                    files = [match] if match.is_file() else match.rglob("*.py")
                    out.update(
                        f for f in files if not ignored(f.relative_to(ROOT).as_posix(), patterns)
                    )
    return out


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


#: image -> the project files its containers start (compose.yaml, the ECS task definitions)
ENTRY_POINTS = {
    "api": [
        "backend/app.py",
        "backend/dicom_node/__main__.py",
        "deploy/local_init.py",
        "deploy/metrics.py",
    ],
    "migrate": [
        "migrations/env.py",
        *[str(p.relative_to(ROOT)) for p in (ROOT / "migrations/versions").glob("*.py")],
        "backend/cli.py",
    ],
    "worker": ["backend/worker/settings.py"],
    "sagemaker": ["backend/sagemaker_server.py"],
    "aws": ["deploy/local_aws.py"],
}


@pytest.mark.parametrize("image", sorted(ENTRY_POINTS))
def test_each_image_installs_what_its_entry_points_import(image: str) -> None:
    installed = installed_closure(requirements(ROOT / "pyproject.toml", image))
    providers = metadata.packages_distributions()
    entries = [ROOT / e for e in ENTRY_POINTS[image]]
    assert all(e.is_file() for e in entries), entries
    missing = {
        module: importer
        for module, importer in sorted(reach(entries)[1].items())
        if not {_canonical(d) for d in providers.get(module, [module])} & installed
    }
    assert not missing, f"{image} image lacks what these files import: {missing}"


@pytest.mark.parametrize("image", sorted(ENTRY_POINTS))
def test_each_image_copies_the_project_files_its_entry_points_reach(image: str) -> None:
    reached, _ = reach([ROOT / e for e in ENTRY_POINTS[image]])
    missing = sorted(str(p.relative_to(ROOT)) for p in reached - copied_files(image))
    assert not missing, f"{image} image lacks the project files its entry points import: {missing}"
