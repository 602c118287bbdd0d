"""compose.yaml: checked by a real Compose implementation (Debian's docker-compose 1.29 runs
``config`` without an engine) and, parsed with PyYAML, against what the backend reads. That it
runs what the ECS task definitions run: test_container_agreement.py."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

from backend.http.proxies import client_address, parse_networks
from backend.settings import Settings
from deploy.containers import DATABASE_ENV, DATABASE_SECRETS
from tests.deploy.deploy_testkit import (
    COMPOSE,
    OTHER_ENV,
    REQUIRED_BACKEND_ENV,
    compose_cli,
    portal_config,
)

#: The services that call S3 or DynamoDB (migrate only runs alembic: test below).
BACKEND_SERVICES = (
    "api",
    "worker",
    "worker-gpu",
    "worker-sagemaker",
    "aws-init",
    "dicom-node",
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_docker_compose_accepts_the_file_with_every_profile() -> None:
    result = compose_cli(
        "--profile", "gpu", "--profile", "sagemaker", "--profile", "pacs", "config"
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    services = resolved["services"]
    assert {
        "postgres",
        "redis",
        "aws",
        "migrate",
        "aws-init",
        "api",
        "worker",
        "frontend",
        "worker-gpu",
        "sagemaker",
        "worker-sagemaker",
        "dicom-node",
    } == set(services)
    devices = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert (
        services["api"]["environment"]["MEDSEGTEXT_SECRET_KEY"] == "test-secret-not-for-production"
    )
    for name in ("api", "worker", "frontend", "migrate"):
        build = services[name]["build"]
        assert (Path(build["context"]) / build["dockerfile"]).is_file(), name


def test_docker_compose_refuses_to_run_without_a_secret_key() -> None:
    result = compose_cli("config", secret=False)
    assert result.returncode != 0
    assert "set MEDSEGTEXT_SECRET_KEY" in result.stderr


def test_services_start_in_order(compose: dict[str, Any]) -> None:
    s = compose["services"]
    assert s["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("api", "worker", "worker-gpu", "worker-sagemaker", "dicom-node"):
        deps = s[name]["depends_on"]
        assert deps["migrate"] == {"condition": "service_completed_successfully"}, name
        assert deps["aws-init"] == {"condition": "service_completed_successfully"}, name
        assert deps["redis"] == {"condition": "service_healthy"}, name
    assert s["frontend"]["depends_on"] == {"api": {"condition": "service_healthy"}}
    for one_off in ("migrate", "aws-init"):
        assert s[one_off]["restart"] == "no"
    for name in ("postgres", "redis", "aws"):
        assert "healthcheck" in s[name], name
    assert s["aws"]["command"] == ["python", "-m", "deploy.local_aws"]
    assert s["aws-init"]["command"] == ["python", "-m", "deploy.local_init"]
    assert s["worker-gpu"]["profiles"] == ["gpu"]


def test_backend_environment_is_what_settings_read(compose: dict[str, Any]) -> None:
    known = Settings.env_names() | set(OTHER_ENV)
    for name in BACKEND_SERVICES:
        env = compose["services"][name]["environment"]
        assert set(env) <= known, f"{name}: unknown variables {set(env) - known}"
        missing = REQUIRED_BACKEND_ENV - set(env)
        assert not missing, f"{name}: missing {missing}"
        assert env["MEDSEGTEXT_ENVIRONMENT"] == "production"
    assert (
        compose["services"]["worker-gpu"]["environment"]["MEDSEGTEXT_INFERENCE_BACKEND"] == "local"
    )
    sm = compose["services"]["worker-sagemaker"]["environment"]
    assert sm["MEDSEGTEXT_INFERENCE_BACKEND"] == "sagemaker"
    assert sm["MEDSEGTEXT_SAGEMAKER_ENDPOINT_URL"] == "http://sagemaker:8080"


def test_migrate_gets_the_database_and_nothing_else(compose: dict[str, Any]) -> None:
    """alembic reads the database URL through the production settings; no AWS, no Redis."""
    env = compose["services"]["migrate"]["environment"]
    assert set(env) == set(DATABASE_ENV) | set(DATABASE_SECRETS)
    assert set(env) <= Settings.env_names()


def test_only_portal_api_and_the_node_are_published_on_loopback(compose: dict[str, Any]) -> None:
    published = {name: svc["ports"] for name, svc in compose["services"].items() if "ports" in svc}
    assert published == {
        "api": ["${MEDSEGTEXT_BIND:-127.0.0.1}:8000:8000"],
        "frontend": ["${MEDSEGTEXT_BIND:-127.0.0.1}:3000:3000"],
        "dicom-node": ["${MEDSEGTEXT_DICOM_BIND:-127.0.0.1}:11112:11112"],
    }


def test_the_dicom_node_is_opt_in_and_shares_the_identity_key(compose: dict[str, Any]) -> None:
    s = compose["services"]
    node = s["dicom-node"]
    assert node["profiles"] == ["pacs"]
    assert node["command"] == ["python", "-m", "backend.dicom_node"]
    assert node["image"] == s["api"]["image"]
    for name in ("api", "worker", "worker-gpu", "dicom-node"):
        env = s[name]["environment"]
        assert env["MEDSEGTEXT_IDENTITY_KEY"] == "${MEDSEGTEXT_IDENTITY_KEY:-}", name
        assert env["MEDSEGTEXT_PACS_AE_TITLE"] == "${MEDSEGTEXT_PACS_AE_TITLE:-}", name
    result = compose_cli(
        "--profile",
        "pacs",
        "config",
        extra_env={
            "MEDSEGTEXT_IDENTITY_KEY": "a2V5LWZvci10ZXN0cy1vbmx5LW5vdC1hLXJlYWwta2V5",
            "MEDSEGTEXT_DICOM_CALLING_AETS": "PACS01",
            "MEDSEGTEXT_PACS_AE_TITLE": "PACS01",
        },
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)["services"]
    assert resolved["dicom-node"]["environment"]["MEDSEGTEXT_DICOM_CALLING_AETS"] == "PACS01"
    assert (
        resolved["worker"]["environment"]["MEDSEGTEXT_IDENTITY_KEY"]
        == resolved["dicom-node"]["environment"]["MEDSEGTEXT_IDENTITY_KEY"]
    )


# --- the client address the API records (issue 12: forwarded headers only from trusted proxies) --


def _network(
    compose: dict[str, Any],
) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Network, ipaddress.IPv4Address]:
    """The compose network's subnet, the range Docker hands out dynamic addresses from, and its
    gateway (stated: left out, Docker would take it from the range)."""
    (pool,) = compose["networks"]["default"]["ipam"]["config"]
    return (
        ipaddress.IPv4Network(pool["subnet"]),
        ipaddress.IPv4Network(pool["ip_range"]),
        ipaddress.IPv4Address(pool["gateway"]),
    )


def test_api_trusts_forwarded_headers_from_the_portals_fixed_address_only(
    compose: dict[str, Any],
) -> None:
    """The portal forwards the browser's address (X-Forwarded-For); the API believes it only
    from the portal's own address, so the audit log and the per-client sign-in throttle see
    the browser, and a browser calling the published API port directly (from the bridge
    gateway, or its own address) cannot claim another one."""
    services = compose["services"]
    subnet, dynamic, gateway = _network(compose)
    portal = ipaddress.IPv4Address(services["frontend"]["networks"]["default"]["ipv4_address"])
    assert portal in subnet and dynamic.subnet_of(subnet) and gateway in subnet
    assert portal != gateway
    assert portal not in dynamic, "another container could be handed the portal's address"
    for name, svc in services.items():
        if name != "frontend":
            assert "ipv4_address" not in str(svc.get("networks", "")), name
    trusted = services["api"]["environment"]["MEDSEGTEXT_TRUSTED_PROXIES"]
    assert trusted == str(portal)
    networks = parse_networks(trusted.split(","))
    assert client_address(str(portal), ["203.0.113.7"], networks) == "203.0.113.7"
    for direct in (str(gateway), str(next(dynamic.hosts())), "198.51.100.9"):
        assert client_address(direct, ["203.0.113.7"], networks) == direct


def test_docker_compose_resolves_the_portal_address_the_api_trusts() -> None:
    result = compose_cli("config")
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    portal = resolved["services"]["frontend"]["networks"]["default"]["ipv4_address"]
    assert resolved["services"]["api"]["environment"]["MEDSEGTEXT_TRUSTED_PROXIES"] == portal
    (pool,) = resolved["networks"]["default"]["ipam"]["config"]
    assert ipaddress.IPv4Address(portal) in ipaddress.IPv4Network(pool["subnet"])


@pytest.mark.parametrize(
    ("public_url", "hops"),
    [
        (None, None),
        ("https://portal.example-hospital.org", "1"),
        ("http://medsegtext-host:3000", None),
    ],
)
def test_portal_accepts_its_public_origin(
    root: Path, public_url: str | None, hops: str | None
) -> None:
    """The portal's websocket and CORS accept the page's origin: MEDSEGTEXT_PUBLIC_URL (the
    address browsers open), else http://localhost:3000 and http://127.0.0.1:3000. It believes
    no X-Forwarded-For from the browser (published directly) unless a TLS proxy in front is
    declared with MEDSEGTEXT_PORTAL_PROXY_HOPS."""
    extra = {"MEDSEGTEXT_PUBLIC_URL": public_url} if public_url else {}
    if hops:
        extra["MEDSEGTEXT_PORTAL_PROXY_HOPS"] = hops
    result = compose_cli("config", extra_env=extra)
    assert result.returncode == 0, result.stderr
    env = yaml.safe_load(result.stdout)["services"]["frontend"]["environment"]
    portal = portal_config(root, {k: str(v) for k, v in env.items()})
    expected = public_url or "http://localhost:3000"
    assert expected in portal["origins"]
    assert env["REFLEX_DEPLOY_URL"] == env["REFLEX_API_URL"] == expected
    if public_url is None:
        assert "http://127.0.0.1:3000" in portal["origins"]
    assert portal["trusted_proxy_hops"] == int(hops or 0)


# --- the S3 + DynamoDB stand-in: signed requests with the stack's key only (issue 12) ----------


def test_stand_in_checks_credentials_with_the_stacks_own_key(compose: dict[str, Any]) -> None:
    """The ``aws`` service runs moto behind the credential gate (deploy/local_aws.py, tested in
    test_local_aws.py), with the same key as the backend services; its health check makes a
    signed call (moto's /moto-api/ answers 403 there)."""
    services = compose["services"]
    aws = services["aws"]
    assert aws["command"] == ["python", "-m", "deploy.local_aws"]
    assert aws["healthcheck"]["test"] == ["CMD", "python", "-m", "deploy.local_aws", "--check"]
    key = {k: aws["environment"][k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    assert key["AWS_SECRET_ACCESS_KEY"].startswith("${MEDSEGTEXT_AWS_SECRET:?")
    assert "moto" not in key.values()
    for name in BACKEND_SERVICES:
        env = services[name]["environment"]
        assert {k: env[k] for k in key} == key, name
    assert "AWS_SECRET_ACCESS_KEY" not in services["frontend"]["environment"]


def test_docker_compose_refuses_to_run_without_the_stand_in_key() -> None:
    result = compose_cli("config", aws_secret=False)
    assert result.returncode != 0
    assert "set MEDSEGTEXT_AWS_SECRET" in result.stderr
