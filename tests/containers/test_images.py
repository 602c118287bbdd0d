"""Every image of `make images` as people judge it (docker/image_report.py): within its size
budget, not root, no compilers, no secrets in its history or ENV, no known vulnerabilities in
its Python packages. The table goes to build/containers/images.md (deploy/README.md shows it)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.containers.compose_stack import ROOT

pytestmark = pytest.mark.timeout(900)  # `docker save` of every image: minutes on VFS
TABLE = ROOT / "build" / "containers" / "images.md"


def test_every_image_keeps_the_rules() -> None:
    run = subprocess.run(
        [sys.executable, "docker/image_report.py"], cwd=ROOT, capture_output=True, text=True
    )
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text(run.stdout)
    print(run.stdout)
    assert run.returncode == 0, run.stderr
    sys.path.insert(0, str(ROOT / "docker"))
    from image_report import BUDGET_MB

    reported = [line for line in run.stdout.splitlines() if line.startswith("| `medsegtext/")]
    assert len(reported) == len(BUDGET_MB), f"images not built: {run.stdout}"
