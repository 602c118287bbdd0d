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


def build_key(environ: Mapping[str, str] = os.environ, root: Path = HERE) -> str:
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
    for name in sorted(k for k in environ if k.startswith(BAKED)):
        h.update(f"{name}={environ[name]}\0".encode())
    return h.hexdigest()
