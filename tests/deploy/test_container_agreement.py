"""compose.yaml and the ECS task definitions run what deploy/containers.py declares, field by
field: image, command, ports, environment, health check, stop timeout, read-only root.

compose is read as docker-compose resolves it (anchors, merges, defaults). Where a compose
service sets no health check, the one that runs is its image's HEALTHCHECK, so that is what is
compared (read from the Dockerfile). What compose may do differently is listed in
deploy/containers.py with its reasons; every other difference is reported with the service and
the field."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from deploy import containers
from deploy.config import Config
from deploy.containers import (
    COMPOSE_ONLY_ENV,
    COMPOSE_SERVICES,
    CONTAINERS,
    NOT_DECLARED,
    WRITABLE_PATH,
    Container,
    HealthCheck,
)
from deploy.ecs import taskdefs
from tests.deploy.deploy_testkit import compose_cli
from tests.deploy.test_dockerfiles import dockerfile, exec_form, parse

#: Docker's defaults for a health check option left out (compose and HEALTHCHECK alike).
DOCKER_HEALTH_DEFAULTS = {"interval": 30, "timeout": 30, "retries": 3, "start_period": 0}
COMPOSE_STOP_DEFAULT_S = 10
ECS_STOP_DEFAULT_S = 30


def seconds(duration: str | int) -> int:
    """A Docker duration ("30s", "2m", "1m30s") in whole seconds."""
    if isinstance(duration, int):
        return duration
    parts = re.findall(r"(\d+)(h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def _health(command: list[str], options: dict[str, Any]) -> HealthCheck | None:
    if command[:1] == ["NONE"]:
        return None
    assert command[0] == "CMD", f"not exec form: {command}"
    given = {k: int(v) if k == "retries" else seconds(v) for k, v in options.items()}
    o = {**DOCKER_HEALTH_DEFAULTS, **given}
    return HealthCheck(
        tuple(command[1:]), o["interval"], o["timeout"], o["retries"], o["start_period"]
    )


def image_health(image: str) -> HealthCheck | None:
    """The last HEALTHCHECK of the image's final stage, or None."""
    checks = parse(dockerfile(image))[1][-1].all("HEALTHCHECK")
    if not checks or checks[-1] == "NONE":
        return None
    options, _, command = checks[-1].partition("CMD ")
    found = dict(re.findall(r"--([\w-]+)=(\S+)", options))
    return _health(["CMD", *exec_form(command)], {k.replace("-", "_"): v for k, v in found.items()})


def compose_view(service: dict[str, Any]) -> dict[str, Any]:
    """One resolved compose service, in the declaration's terms."""
    image = service.get("image", "")
    built_from = service.get("build", {}).get("dockerfile", "")
    image_name = re.sub(r"^medsegtext/|:local$", "", image)
    if f"docker/{image_name}.Dockerfile" != built_from:
        image_name = f"{image} built from {built_from}"
    check = service.get("healthcheck")
    if check is None:  # the image's own, if it is one of ours
        health = image_health(image_name) if dockerfile(image_name).is_file() else None
    elif check.get("disable"):
        health = None
    else:
        health = _health(check["test"], {k: v for k, v in check.items() if k != "test"})
    published = [int(p.split("/")[0].rsplit(":", 1)[-1]) for p in service.get("ports", [])]
    return {
        "image": image_name,
        "command": tuple(service["command"]) if "command" in service else None,
        "ports": tuple(sorted(published + [int(p) for p in service.get("expose", [])])),
        "health": health,
        "stop_timeout": seconds(service.get("stop_grace_period", COMPOSE_STOP_DEFAULT_S)),
        "read_only": (bool(service.get("read_only")), tuple(service.get("tmpfs", []))),
    }


def declared_view(spec: Container) -> dict[str, Any]:
    return {
        "image": spec.image,
        "command": spec.command,
        "ports": tuple(sorted(spec.ports)),
        "health": spec.health,
        "stop_timeout": spec.stop_timeout_s,
        "read_only": (True, (WRITABLE_PATH,)) if spec.read_only else (False, ()),
    }


def _compare(where: str, actual: dict[str, Any], spec: Container) -> list[str]:
    declared = declared_view(spec)
    return [
        f"{where}: {key}: {actual[key]!r}, declared {declared[key]!r}"
        for key in declared
        if actual[key] != declared[key]
    ]


def _environment(where: str, env: dict[str, Any], spec: Container, extra_ok: set[str]) -> list[str]:
    problems = []
    wanted = set(spec.environment) | set(spec.secrets)
    if missing := wanted - set(env):
        problems.append(f"{where}: environment: missing {sorted(missing)}")
    if extra := set(env) - wanted - extra_ok:
        problems.append(f"{where}: environment: not declared {sorted(extra)}")
    for name, value in spec.environment.items():
        if value is not None and name in env and str(env[name]) != value:
            problems.append(f"{where}: environment: {name}={env[name]!r}, declared {value!r}")
    return problems


def compose_disagreements(services: dict[str, dict[str, Any]]) -> list[str]:
    """Every way the resolved compose services differ from the declaration."""
    problems = [
        f"{name}: not declared in deploy/containers.py"
        for name in services
        if name not in COMPOSE_SERVICES and name not in NOT_DECLARED
    ]
    for name, component in COMPOSE_SERVICES.items():
        if name not in services:
            problems.append(f"{name}: missing from compose.yaml")
            continue
        spec, service = CONTAINERS[component], services[name]
        problems += _compare(name, compose_view(service), spec)
        env = service.get("environment", {})
        problems += _environment(name, env, spec, extra_ok=set(COMPOSE_ONLY_ENV))
    return problems


def ecs_view(c: dict[str, Any], cfg: Config) -> dict[str, Any]:
    image = c["image"].removeprefix(f"{cfg.registry}/{cfg.name}/")
    check = c.get("healthCheck")
    return {
        "image": image.removesuffix(f":{cfg.image_tag}"),
        "command": tuple(c["command"]) if "command" in c else None,
        "ports": tuple(sorted(p["containerPort"] for p in c.get("portMappings", []))),
        "health": _health(
            check["command"],
            {
                "interval": check.get("interval", 30),
                "timeout": check.get("timeout", 5),
                "retries": check.get("retries", 3),
                "start_period": check.get("startPeriod", 0),
            },
        )
        if check
        else None,
        "stop_timeout": c.get("stopTimeout", ECS_STOP_DEFAULT_S),
        "read_only": (
            bool(c.get("readonlyRootFilesystem")),
            tuple(m["containerPath"] for m in c.get("mountPoints", [])),
        ),
    }


def ecs_disagreements(tds: dict[str, dict[str, Any]], cfg: Config) -> list[str]:
    """Every way the task definitions differ from the declaration."""
    problems = []
    for component, td in tds.items():
        spec = CONTAINERS.get(component)
        if spec is None or "ecs" not in spec.where:
            problems.append(f"{component}: not declared for ECS in deploy/containers.py")
            continue
        (c,) = td["containerDefinitions"]
        problems += _compare(component, ecs_view(c, cfg), spec)
        env = {e["name"]: e["value"] for e in c.get("environment", [])}
        secrets = {s["name"] for s in c.get("secrets", [])}
        if secrets != set(spec.secrets):
            problems.append(f"{component}: secrets: {sorted(secrets)}, declared {spec.secrets}")
        plain = Container(**{**spec.__dict__, "secrets": ()})
        problems += _environment(component, env, plain, extra_ok=set())
        if spec.read_only and td.get("volumes") != [{"name": taskdefs.TMP_VOLUME}]:
            problems.append(f"{component}: volumes: {td.get('volumes')!r}, no /tmp volume")
    return problems


@pytest.fixture(scope="module")
def resolved() -> dict[str, dict[str, Any]]:
    result = compose_cli(
        "--profile", "gpu", "--profile", "sagemaker", "--profile", "pacs", "config"
    )
    assert result.returncode == 0, result.stderr
    return dict(yaml.safe_load(result.stdout)["services"])


@pytest.fixture(scope="module")
def tds(cfg: Config) -> dict[str, dict[str, Any]]:
    assert cfg.pacs is not None  # the example deploys every task definition, the node included
    return {c: taskdefs.TASK_DEFINITIONS[c](cfg) for c in taskdefs.components(cfg)}


def test_compose_runs_what_the_declaration_says(resolved: dict[str, dict[str, Any]]) -> None:
    assert compose_disagreements(resolved) == []


def test_ecs_runs_what_the_declaration_says(tds: dict[str, dict[str, Any]], cfg: Config) -> None:
    assert ecs_disagreements(tds, cfg) == []
    declared_for_ecs = {n for n, c in CONTAINERS.items() if "ecs" in c.where}
    assert set(taskdefs.TASK_DEFINITIONS) == declared_for_ecs


def test_read_only_containers_write_only_under_the_writable_path() -> None:
    """The workers' model cache is under /tmp; the node's spool and upload spooling go to the
    process's temporary folder, /tmp in these images (no TMPDIR is set)."""
    for name, spec in CONTAINERS.items():
        if spec.read_only:
            assert "TMPDIR" not in spec.environment, name
            cache = spec.environment.get("MEDSEGTEXT_MODEL_CACHE_DIR")
            assert cache is None or cache.startswith(WRITABLE_PATH + "/"), name
    assert containers.MODEL_CACHE_DIR.startswith(WRITABLE_PATH + "/")
    assert not CONTAINERS["frontend"].read_only  # Reflex compiles into .web at start


def test_every_allowed_difference_is_used(resolved: dict[str, dict[str, Any]]) -> None:
    """A stated exception that nothing needs any more is dropped, not kept as a loophole."""
    used = {v for s in resolved.values() for v in s.get("environment", {})}
    assert set(COMPOSE_ONLY_ENV) <= used
    assert set(NOT_DECLARED) <= set(resolved)


# --- the checks report drift: a changed copy is caught, with its service and field ----------


def _at(doc: Any, path: str) -> tuple[Any, Any]:
    """The container of the dotted ``path``'s last step (numbers index lists), and that step."""
    *parents, last = (int(k) if k.isdigit() else k for k in path.split("."))
    for key in parents:
        doc = doc[key]
    return doc, last


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        parent, key = _at(doc, path)
        parent[key] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        parent, key = _at(doc, path)
        del parent[key]

    return change


def _assert_reported(problems: list[str], expected: str) -> None:
    """``expected`` ("service: field") is reported, and nothing about any other service (an
    image swapped also swaps the health check it brings)."""
    service = expected.split(":")[0]
    assert any(p.startswith(expected) for p in problems), problems
    assert all(p.startswith(f"{service}: ") for p in problems), problems


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_set("worker.environment.MEDSEGTEXT_MODEL_CACHE_DIR", "/app/var"), "worker: environment"),
        (_set("api.environment.MEDSEGTEXT_DEBUG", "1"), "api: environment: not declared"),
        (_drop("dicom-node.environment.MEDSEGTEXT_DICOM_PORT"), "dicom-node: environment: missing"),
        (_set("worker-gpu.image", "medsegtext/worker:local"), "worker-gpu: image"),
        (_set("dicom-node.command", ["python", "-m", "backend.app"]), "dicom-node: command"),
        (_set("api.ports", ["127.0.0.1:8080:8080/tcp"]), "api: ports"),
        (_set("dicom-node.healthcheck.interval", "1m"), "dicom-node: health"),
        (_set("api.healthcheck", {"test": ["CMD", "true"]}), "api: health"),
        (_set("worker-sagemaker.stop_grace_period", "10s"), "worker-sagemaker: stop_timeout"),
        (_drop("migrate.read_only"), "migrate: read_only"),
        (_set("frontend.read_only", True), "frontend: read_only"),
        (_drop("aws-init"), "aws-init: missing"),
        (_set("mailer", {"image": "mailhog"}), "mailer: not declared"),
    ],
)
def test_compose_drift_is_reported(
    resolved: dict[str, dict[str, Any]],
    change: Callable[[dict[str, Any]], None],
    expected: str,
) -> None:
    drifted = copy.deepcopy(resolved)
    change(drifted)
    problems = compose_disagreements(drifted)
    _assert_reported(problems, expected)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_drop("worker.containerDefinitions.0.healthCheck"), "worker: health"),
        (_set("migrate.containerDefinitions.0.stopTimeout", 120), "migrate: stop_timeout"),
        (_set("api.containerDefinitions.0.readonlyRootFilesystem", False), "api: read_only"),
        (_drop("dicom-node.containerDefinitions.0.secrets.3"), "dicom-node: secrets"),
        (_set("queue-metrics.containerDefinitions.0.command", ["arq"]), "queue-metrics: command"),
    ],
)
def test_ecs_drift_is_reported(
    tds: dict[str, dict[str, Any]],
    cfg: Config,
    change: Callable[[dict[str, Any]], None],
    expected: str,
) -> None:
    drifted = copy.deepcopy(tds)
    change(drifted)
    _assert_reported(ecs_disagreements(drifted, cfg), expected)
