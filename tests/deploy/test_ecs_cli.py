"""The ECS deployment command line and its config checks."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from deploy import config as config_mod
from deploy.ecs.__main__ import main
from deploy.plan import Step

# --- CLI and config -------------------------------------------------------------------------------


def test_dry_run_prints_every_call_as_json_lines(create_plan: list[Step], root: Path) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert (
            main(["create", "--config", str(root / "deploy/ecs/config.example.yaml"), "--dry-run"])
            == 0
        )
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == len(create_plan)
    assert [(entry["service"], entry["operation"]) for entry in lines] == [
        (s.service, s.operation) for s in create_plan
    ]
    assert lines[0]["params"] == create_plan[0].params


def _refusal(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        assert main(["--config", str(path), "--dry-run"]) == 2
    return err.getvalue()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["images"].update(tag="latest"), "images.tag: 'latest' is mutable"),
        (
            lambda d: d["services"]["worker"].update(memory=3000),
            "services.worker.memory: 3000 MiB is not a Fargate memory size for 2048",
        ),
        (lambda d: d["services"]["api"].update(cpu=300), "services.api.cpu: 300 is not a Fargate"),
        (
            lambda d: d["secrets"].update(secret_key="hunter2"),
            "secrets.secret_key: 'hunter2' is not",
        ),
        (
            lambda d: d["network"].update(private_subnets=["subnet-1"]),
            "network.private_subnets: must list at least 2",
        ),
        (lambda d: d.pop("storage"), "storage: is required"),
        (lambda d: d["network"].pop("vpc_cidr"), "network.vpc_cidr: is required"),
        (
            lambda d: d["network"].update(vpc_cidr="10.0.0.0/33"),
            "network.vpc_cidr: '10.0.0.0/33' is not an IPv4 network (e.g. 10.0.0.0/16)",
        ),
        (
            lambda d: d["network"].update(vpc_cidr="10.0.0.1/16"),
            "network.vpc_cidr: '10.0.0.1/16' has host bits set (the network is 10.0.0.0/16)",
        ),
        (
            lambda d: d["network"].update(vpc_cidr="0.0.0.0/0"),
            "network.vpc_cidr: '0.0.0.0/0' is not a private range",
        ),
        (
            lambda d: d["network"].update(vpc_cidr="10.0.0.0/8"),
            "network.vpc_cidr: '10.0.0.0/8': a VPC's CIDR is /16 to /28",
        ),
        (
            lambda d: d["services"]["worker"].update(min=0, desired=0),
            "services.worker: min must be at least 1",
        ),
        (lambda d: d["autoscaling"].update(metric_namespace="AWS/ECS"), "reserved"),
        (lambda d: d["inference"].update(backend="triton"), "'triton' is not one of local"),
        (lambda d: d.update(public_url="http://insecure.example.org"), "public_url"),
        (
            lambda d: d["sagemaker"].update(model_prefix="cases/sm/"),
            "sagemaker.model_prefix: 'cases/sm/' overlaps 'cases/'",
        ),
        (lambda d: d["sagemaker"].update(model_prefix="models/"), "overlaps 'models/'"),
    ],
)
def test_bad_configs_are_refused_naming_the_field(
    tmp_path: Path, example_data: dict[str, Any], change: Any, message: str
) -> None:
    data = json.loads(json.dumps(example_data))
    change(data)
    assert message in _refusal(tmp_path, data)


def test_unreadable_config_is_refused(tmp_path: Path) -> None:
    err = io.StringIO()
    with redirect_stderr(err):
        assert main(["--config", str(tmp_path / "missing.yaml"), "--dry-run"]) == 2
    assert "missing.yaml: cannot read" in err.getvalue()
    (tmp_path / "c.toml").write_text("x")
    with pytest.raises(config_mod.ConfigError, match=r"expected a \.yaml, \.yml or \.json"):
        config_mod.load(tmp_path / "c.toml")
