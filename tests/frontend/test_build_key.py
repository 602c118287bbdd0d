"""What makes a start rebuild the portal's production bundle (frontend/build_key.py): a changed
source, package pin or baked-in variable does; another variable, bytecode, Reflex's own
assets/external and a file saved unchanged do not."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
sys.path.insert(0, str(FRONTEND))

from build_key import SOURCES, build_key  # noqa: E402

ENV = {
    "REFLEX_API_URL": "http://localhost:3000",
    "MEDSEGTEXT_PORTAL_PORT": "3000",
    "MEDSEGTEXT_DATABASE_URL": "sqlite:///a.db",
    "PATH": "/usr/bin",
}


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    """A copy of the portal's real sources."""
    for name in SOURCES:
        source, copy = FRONTEND / name, tmp_path / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, copy)
    return tmp_path


def test_a_changed_source_or_pin_rebuilds(root: Path) -> None:
    before = build_key(ENV, root)
    page = root / "portal" / "components" / "findings.py"
    page.write_text(page.read_text() + "\n# changed\n")
    after_source = build_key(ENV, root)
    (root / "requirements.txt").write_text((root / "requirements.txt").read_text() + "x\n")
    after_pin = build_key(ENV, root)
    assert len({before, after_source, after_pin}) == 3


@pytest.mark.parametrize("name", ["REFLEX_API_URL", "MEDSEGTEXT_PORTAL_PORT", "VITE_MINIFY"])
def test_a_baked_variable_rebuilds(root: Path, name: str) -> None:
    assert build_key({**ENV, name: "http://portal.example:8443"}, root) != build_key(ENV, root)


def test_what_is_not_built_from_does_not(root: Path) -> None:
    before = build_key(ENV, root)
    other = {**ENV, "MEDSEGTEXT_DATABASE_URL": "postgresql://db/x", "PATH": "/bin"}
    (root / "portal" / "__pycache__").mkdir()
    (root / "portal" / "__pycache__" / "api.cpython-311.pyc").write_bytes(b"\0")
    (root / "assets" / "external").mkdir()
    (root / "assets" / "external" / "made.js").write_text("made by the compile")
    page = root / "portal" / "api.py"
    page.write_text(page.read_text())  # saved unchanged: a new mtime, the same content
    assert build_key(other, root) == before


def test_differences_name_what_changed_without_values(root: Path) -> None:
    from build_key import build_inputs, differences

    built = build_inputs(ENV, root)
    now = build_inputs({**ENV, "REFLEX_API_URL": "https://portal.example", "VITE_X": "1"}, root)
    assert differences(built, now) == ["REFLEX_API_URL", "VITE_X"]
    assert differences(built, build_inputs(ENV, root)) == []
    assert "http://localhost:3000" not in str(built)  # digests only
