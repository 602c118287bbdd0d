"""Shared checks for the deployment tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deploy.plan import Step

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
