"""The hash of what the portal's production build is made from, so that a start can tell
whether the last build still fits (frontend/prod_run.py): the portal's sources (portal/,
assets/, rxconfig.py), the pinned packages (requirements.txt, bun.lock) and the environment
variables baked into it: REFLEX_API_URL and REFLEX_DEPLOY_URL among REFLEX_*, VITE_*, and
MEDSEGTEXT_PORTAL_* (rxconfig.py reads them). Contents, not times: a file saved unchanged
does not rebuild. No Reflex import, so the tests run it in the project's venv."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = ("portal", "assets", "rxconfig.py", "requirements.txt", "reflex.lock/bun.lock")
BAKED = ("REFLEX_", "VITE_", "MEDSEGTEXT_PORTAL_")


def _made(path: Path) -> bool:
    """Written by Python (bytecode) or by Reflex's compile (assets/external), not sources."""
    return "__pycache__" in path.parts or path.parts[:2] == ("assets", "external")


def build_inputs(environ: Mapping[str, str] = os.environ, root: Path = HERE) -> dict[str, str]:
    """A digest of each input of the build: "sources" (files), then each baked variable by name
    (digests, not values, so the record written next to a build holds no setting in clear)."""
    h = hashlib.sha256()
    for name in SOURCES:
        path = root / name
        files = (
            sorted(f for f in path.rglob("*") if f.is_file() and not _made(f.relative_to(root)))
            if path.is_dir()
            else [path]
        )
        for f in files:
            h.update(f"{f.relative_to(root)}\0".encode() + f.read_bytes() + b"\0")
    inputs = {"sources": h.hexdigest()}
    for name in sorted(k for k in environ if k.startswith(BAKED)):
        inputs[name] = hashlib.sha256(environ[name].encode()).hexdigest()
    return inputs


def build_key(environ: Mapping[str, str] = os.environ, root: Path = HERE) -> str:
    inputs = build_inputs(environ, root)
    return hashlib.sha256("".join(f"{k}={v}\0" for k, v in inputs.items()).encode()).hexdigest()


def differences(built: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """Inputs that differ between a build's record and this start, by name."""
    return sorted(k for k in built.keys() | now.keys() if built.get(k) != now.get(k))
