"""Shared checks for the deployment tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from deploy.plan import Step

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"

#: What production must set for the API and workers to start and use the right resources.
REQUIRED_BACKEND_ENV = {
    "MEDSEGTEXT_ENVIRONMENT",
    "MEDSEGTEXT_SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "AWS_REGION",
    "MEDSEGTEXT_S3_BUCKET",
    "MEDSEGTEXT_S3_PREFIX",
    "MEDSEGTEXT_DYNAMODB_TABLE",
    "MEDSEGTEXT_INFERENCE_BACKEND",
    "MEDSEGTEXT_SAGEMAKER_ENDPOINT",
    # The image's /app is read-only (ECS) or not the app user's (compose): fetched model
    # versions go to a writable place.
    "MEDSEGTEXT_MODEL_CACHE_DIR",
}


#: Read by other code than backend/settings/, each named with where it is read.
OTHER_ENV = {
    "AWS_ACCESS_KEY_ID": "botocore (compose stand-ins only)",
    "AWS_SECRET_ACCESS_KEY": "botocore (compose stand-ins only)",
    "MEDSEGTEXT_ADMIN_EMAIL": "deploy/local_init.py",
    "MEDSEGTEXT_ADMIN_PASSWORD": "deploy/local_init.py",
    "MEDSEGTEXT_METRICS_NAMESPACE": "deploy/metrics.py",
    "MEDSEGTEXT_METRICS_DEPLOYMENT": "deploy/metrics.py",
}
#: The portal's variables, each with the file that reads it.
FRONTEND_ENV = {
    "MEDSEGTEXT_API_URL": "frontend/portal/api.py",
    "MEDSEGTEXT_PORTAL_HOST": "frontend/run.sh",
    "MEDSEGTEXT_PORTAL_PORT": "frontend/run.sh",
    "REFLEX_API_URL": "frontend/run.sh",
    "REFLEX_DEPLOY_URL": "frontend/run.sh",
}
#: The portal's variables that Reflex itself reads (rx.Config takes REFLEX_<field>), each with
#: its rx.Config field; tests read the field back from the portal's config.
REFLEX_ENV = {
    "REFLEX_TRUSTED_PROXY_HOPS": "trusted_proxy_hops",
}


def compose_cli(
    *args: str,
    secret: bool = True,
    aws_secret: bool = True,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``docker-compose -f compose.yaml ARGS`` with this shell's MEDSEGTEXT_/COMPOSE_/POSTGRES_
    variables removed, and the two required secrets set to test values unless told not to."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose not installed (Debian: apt-get install docker-compose)")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEDSEGTEXT_", "COMPOSE_", "POSTGRES_"))
    }
    if secret:
        env["MEDSEGTEXT_SECRET_KEY"] = "test-secret-not-for-production"
    if aws_secret:
        env["MEDSEGTEXT_AWS_SECRET"] = "test-aws-secret-not-for-production"
    env.update(extra_env or {})
    return subprocess.run(
        [binary, "-f", str(COMPOSE), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def steps_of(plan: list[Step], service: str, operation: str) -> list[Step]:
    return [s for s in plan if s.service == service and s.operation == operation]


def step(plan: list[Step], step_id: str) -> Step:
    found = [s for s in plan if s.id == step_id]
    assert len(found) == 1, f"expected one step {step_id!r}, found {len(found)}"
    return found[0]


def task_definitions(plan: list[Step]) -> dict[str, dict[str, Any]]:
    """Component (its one container's name) -> registered task definition."""
    return {
        s.params["containerDefinitions"][0]["name"]: s.params
        for s in steps_of(plan, "ecs", "register_task_definition")
    }


def portal_config(root: Path, env: dict[str, str]) -> dict[str, Any]:
    """What the portal makes of ``env`` at start, computed by its own code in its own venv:
    ``origins`` (frontend/rxconfig.py: CORS and the websocket's Origin check) and
    ``trusted_proxy_hops`` (Reflex: how many X-Forwarded-For entries from the right the portal
    believes for the browser's address, the one it forwards to the API)."""
    import json
    import os
    import subprocess

    import pytest

    python = root / "frontend" / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.skip(
            "the portal's venv frontend/.venv is missing (frontend/run.sh --setup-only makes it)"
        )
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    code = (
        "import json, rxconfig; print(json.dumps({'origins': rxconfig.portal_origins(), "
        "'trusted_proxy_hops': rxconfig.config.trusted_proxy_hops}))"
    )
    result = subprocess.run(
        [str(python), "-c", code],
        cwd=root / "frontend",
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))
