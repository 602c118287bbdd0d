"""compose.yaml: checked by a real Compose implementation (Debian's docker-compose 1.29 runs
``config`` without an engine) and, parsed with PyYAML, against what the backend reads and what
the ECS task definitions set."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy import config as config_mod
from deploy.ecs import taskdefs
from tests.deploy.deploy_testkit import (
    FRONTEND_ENV,
    OTHER_ENV,
    REQUIRED_BACKEND_ENV,
    settings_env_names,
)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
BACKEND_SERVICES = ("api", "worker", "worker-gpu", "worker-sagemaker", "migrate", "aws-init")
#: Set in compose only: the stand-ins for AWS (on ECS the task role signs real AWS calls).
STAND_IN_ENV = {"MEDSEGTEXT_S3_ENDPOINT_URL", "MEDSEGTEXT_DYNAMODB_ENDPOINT_URL",
                "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _compose_cli(*args: str, secret: bool = True) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose not installed (Debian: apt-get install docker-compose)")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MEDSEGTEXT_", "COMPOSE_", "POSTGRES_"))}
    if secret:
        env["MEDSEGTEXT_SECRET_KEY"] = "test-secret-not-for-production"
    return subprocess.run([binary, "-f", str(COMPOSE), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60)


def test_docker_compose_accepts_the_file_with_every_profile() -> None:
    result = _compose_cli("--profile", "gpu", "--profile", "sagemaker", "config")
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    services = resolved["services"]
    assert {"postgres", "redis", "aws", "migrate", "aws-init", "api", "worker", "frontend",
            "worker-gpu", "sagemaker", "worker-sagemaker"} == set(services)
    devices = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert services["api"]["environment"]["MEDSEGTEXT_SECRET_KEY"] == \
        "test-secret-not-for-production"
    for name in ("api", "worker", "frontend", "migrate"):
        build = services[name]["build"]
        assert (Path(build["context"]) / build["dockerfile"]).is_file(), name


def test_docker_compose_refuses_to_run_without_a_secret_key() -> None:
    result = _compose_cli("config", secret=False)
    assert result.returncode != 0
    assert "set MEDSEGTEXT_SECRET_KEY" in result.stderr


def test_services_start_in_order(compose: dict[str, Any]) -> None:
    s = compose["services"]
    assert s["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("api", "worker", "worker-gpu", "worker-sagemaker"):
        deps = s[name]["depends_on"]
        assert deps["migrate"] == {"condition": "service_completed_successfully"}, name
        assert deps["aws-init"] == {"condition": "service_completed_successfully"}, name
        assert deps["redis"] == {"condition": "service_healthy"}, name
    assert s["frontend"]["depends_on"] == {"api": {"condition": "service_healthy"}}
    for one_off in ("migrate", "aws-init"):
        assert s[one_off]["restart"] == "no"
    for name in ("postgres", "redis", "aws"):
        assert "healthcheck" in s[name], name
    assert s["aws"]["command"][0] == "moto_server"
    assert s["aws-init"]["command"] == ["python", "-m", "deploy.local_init"]
    assert s["worker-gpu"]["profiles"] == ["gpu"]


def test_backend_environment_is_what_settings_read(compose: dict[str, Any]) -> None:
    known = settings_env_names() | set(OTHER_ENV)
    for name in BACKEND_SERVICES:
        env = compose["services"][name]["environment"]
        assert set(env) <= known, f"{name}: unknown variables {set(env) - known}"
        missing = REQUIRED_BACKEND_ENV - set(env)
        assert not missing, f"{name}: missing {missing}"
        assert env["MEDSEGTEXT_ENVIRONMENT"] == "production"
    assert compose["services"]["worker-gpu"]["environment"]["MEDSEGTEXT_INFERENCE_BACKEND"] == \
        "local"
    sm = compose["services"]["worker-sagemaker"]["environment"]
    assert sm["MEDSEGTEXT_INFERENCE_BACKEND"] == "sagemaker"
    assert sm["MEDSEGTEXT_SAGEMAKER_ENDPOINT_URL"] == "http://sagemaker:8080"


def test_same_variables_as_the_ecs_task_definitions(compose: dict[str, Any],
                                                    cfg: config_mod.Config) -> None:
    """compose = ECS environment + ECS secrets + the AWS stand-ins, nothing else."""
    for component in ("api", "worker"):
        c = taskdefs.TASK_DEFINITIONS[component](cfg)["containerDefinitions"][0]
        ecs = {e["name"] for e in c["environment"]} | {s["name"] for s in c["secrets"]}
        local = set(compose["services"][component]["environment"])
        assert local == ecs | STAND_IN_ENV, (component, local ^ (ecs | STAND_IN_ENV))
    c = taskdefs.frontend(cfg)["containerDefinitions"][0]
    assert set(compose["services"]["frontend"]["environment"]) == \
        {e["name"] for e in c["environment"]} == set(FRONTEND_ENV)


def test_only_portal_and_api_are_published_on_loopback(compose: dict[str, Any]) -> None:
    published = {name: svc["ports"] for name, svc in compose["services"].items()
                 if "ports" in svc}
    assert published == {"api": ["${MEDSEGTEXT_BIND:-127.0.0.1}:8000:8000"],
                         "frontend": ["${MEDSEGTEXT_BIND:-127.0.0.1}:3000:3000"]}
