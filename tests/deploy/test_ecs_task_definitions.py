"""The ECS task definitions, what each container is given: launch type and GPU, images by tag,
secrets from Secrets Manager only, the environment the code reads, a read-only root, and the
proxies the API and the portal trust."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from backend.http.proxies import client_address, parse_networks
from backend.settings import Settings
from deploy import config as config_mod
from deploy.ecs import build_plan
from deploy.ecs.taskdefs import SECRET_ENV
from deploy.plan import Step
from tests.deploy.deploy_testkit import (
    FRONTEND_ENV,
    REFLEX_ENV,
    REQUIRED_BACKEND_ENV,
    portal_config,
    step,
    task_definitions,
)

BACKEND_COMPONENTS = ("api", "worker", "worker-gpu", "dicom-node")


def test_fargate_and_gpu_task_definitions(create_plan: list[Step], cfg: config_mod.Config) -> None:
    tds = task_definitions(create_plan)
    for name in ("api", "frontend", "worker", "queue-metrics", "migrate", "dicom-node"):
        assert tds[name]["requiresCompatibilities"] == ["FARGATE"], name
        assert tds[name]["networkMode"] == "awsvpc"
    gpu = tds["worker-gpu"]
    assert gpu["requiresCompatibilities"] == ["EC2"]
    assert gpu["containerDefinitions"][0]["resourceRequirements"] == [{"type": "GPU", "value": "1"}]
    env = {e["name"]: e["value"] for e in gpu["containerDefinitions"][0]["environment"]}
    assert env["MEDSEGTEXT_INFERENCE_BACKEND"] == "local"  # its GPU is the point
    for name, td in tds.items():
        image = td["containerDefinitions"][0]["image"]
        assert image.endswith(f":{cfg.image_tag}") and not image.endswith(":latest"), name


def test_gpu_worker_is_placed_on_the_gpu_capacity_provider(create_plan: list[Step]) -> None:
    provider = step(create_plan, "gpu-capacity-provider").params
    service = step(create_plan, "service-worker-gpu").params
    assert "launchType" not in service
    assert service["capacityProviderStrategy"][0]["capacityProvider"] == provider["name"]
    cluster = step(create_plan, "cluster").params
    assert provider["name"] in cluster["capacityProviders"]
    asg = step(create_plan, "gpu-asg").params
    template = step(create_plan, "gpu-launch-template").params
    assert asg["LaunchTemplate"]["LaunchTemplateName"] == template["LaunchTemplateName"]
    assert template["LaunchTemplateData"]["InstanceType"].startswith(("g4dn", "g5", "g6"))
    assert template["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] == "required"
    assert asg["MinSize"] == 0
    assert provider["autoScalingGroupProvider"]["autoScalingGroupArn"] == "{{gpu-asg-arn.arn}}"


def test_secrets_come_from_secrets_manager_never_from_plain_environment(
    create_plan: list[Step], cfg: config_mod.Config
) -> None:
    secret_names = set(SECRET_ENV.values())
    secret_arns = set(cfg.secrets.values())
    for name, td in task_definitions(create_plan).items():
        for c in td["containerDefinitions"]:
            env = {e["name"]: e["value"] for e in c.get("environment", [])}
            assert not secret_names & set(env), f"{name}: secret in plain environment"
            for key, value in env.items():  # a URL with credentials would hold an @
                if key != "MEDSEGTEXT_DICOM_SERVICE_ACCOUNT":  # an account's email, no secret
                    assert "@" not in value, (name, key)
                assert "password" not in key.lower(), (name, key)
            for s in c.get("secrets", []):
                assert s["valueFrom"] in secret_arns, (name, s)
    tds = task_definitions(create_plan)
    for name in BACKEND_COMPONENTS:
        names = {s["name"] for s in tds[name]["containerDefinitions"][0]["secrets"]}
        assert names == secret_names, name
    assert {s["name"] for s in tds["migrate"]["containerDefinitions"][0]["secrets"]} == {
        "DATABASE_URL",
        "MEDSEGTEXT_SECRET_KEY",
    }
    assert {s["name"] for s in tds["queue-metrics"]["containerDefinitions"][0]["secrets"]} == {
        "REDIS_URL"
    }
    assert "secrets" not in tds["frontend"]["containerDefinitions"][0]


def test_backend_environment_is_what_settings_read(create_plan: list[Step], root: Path) -> None:
    known = Settings.env_names()
    tds = task_definitions(create_plan)
    for name in (*BACKEND_COMPONENTS, "migrate"):
        c = tds[name]["containerDefinitions"][0]
        names = {e["name"] for e in c["environment"]} | {s["name"] for s in c["secrets"]}
        assert names <= known, f"{name}: not read by backend/settings/: {names - known}"
        if name != "migrate":
            assert names >= REQUIRED_BACKEND_ENV, f"{name}: missing {REQUIRED_BACKEND_ENV - names}"
    frontend = {e["name"] for e in tds["frontend"]["containerDefinitions"][0]["environment"]}
    assert frontend == set(FRONTEND_ENV) | set(REFLEX_ENV)
    for var, reader in FRONTEND_ENV.items():
        assert var in (root / reader).read_text(), f"{reader} does not read {var}"


def test_containers_run_read_only_with_only_tmp_writable(create_plan: list[Step]) -> None:
    for name, td in task_definitions(create_plan).items():
        c = td["containerDefinitions"][0]
        if name == "frontend":  # Reflex compiles into .web at start
            continue
        assert c["readonlyRootFilesystem"] is True, name
        assert [m["containerPath"] for m in c["mountPoints"]] == ["/tmp"], name


def _env(td: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in td["containerDefinitions"][0]["environment"]}


def test_api_trusts_forwarded_headers_from_inside_the_vpc_only(
    create_plan: list[Step], cfg: config_mod.Config
) -> None:
    """The ALB (public subnets) and the portal's tasks (private subnets) are in the VPC; the
    API believes their X-Forwarded-For, and nobody else's (issue 12). 127.0.0.1 is the API
    task's own network namespace, where the ECS-managed Service Connect proxy runs."""
    tds = task_definitions(create_plan)
    trusted = _env(tds["api"])["MEDSEGTEXT_TRUSTED_PROXIES"]
    assert trusted == f"{cfg.network.vpc_cidr},127.0.0.1"
    for name in ("worker", "worker-gpu", "migrate", "queue-metrics", "frontend"):
        assert "MEDSEGTEXT_TRUSTED_PROXIES" not in _env(tds[name]), name  # they serve no API
    networks = parse_networks(trusted.split(","))
    vpc = ipaddress.ip_network(cfg.network.vpc_cidr)
    alb_node, portal_task = str(vpc[10]), str(vpc[200])
    # browser -> ALB -> API: the ALB appends the address it saw, whatever the browser claimed
    assert client_address(alb_node, ["198.51.100.23"], networks) == "198.51.100.23"
    assert client_address(alb_node, [f"{portal_task}, 198.51.100.23"], networks) == "198.51.100.23"
    # browser -> ALB -> portal -> (Service Connect proxy) -> API
    assert (
        client_address("127.0.0.1", [f"198.51.100.23, {portal_task}"], networks) == "198.51.100.23"
    )
    assert client_address("203.0.113.5", ["198.51.100.23"], networks) == "203.0.113.5"


def test_portal_accepts_the_public_origin_and_the_browser_address_the_alb_saw(
    create_plan: list[Step], cfg: config_mod.Config, root: Path
) -> None:
    """The portal's websocket refuses pages from origins it does not know; the ALB in front of
    it is one proxy hop, whose last X-Forwarded-For entry is the browser the portal forwards to
    the API (with no hop trusted, it would forward the ALB's own address)."""
    env = _env(task_definitions(create_plan)["frontend"])
    portal = portal_config(root, env)
    assert cfg.public_url in portal["origins"]
    assert portal["trusted_proxy_hops"] == 1


@pytest.mark.parametrize("stage", ["create", "update"])
def test_the_configured_vpc_cidr_is_checked_before_any_task_is_defined(
    cfg: config_mod.Config, stage: str
) -> None:
    plan = build_plan(cfg, stage)
    check = step(plan, "vpc-cidr")
    assert (check.service, check.operation) == ("ec2", "describe_vpcs")
    assert check.params == {"VpcIds": [cfg.network.vpc_id]}
    assert check.expect == {"Vpcs.0.CidrBlock": cfg.network.vpc_cidr}
    ids = [s.id for s in plan]
    assert ids.index("vpc-cidr") < ids.index("td-api")
