"""The ECS plan as a whole: every call valid against the AWS API models at every stage, the
whole deployment covered, each step after what it depends on (the migration before any service,
every reference to an earlier output), and an update that only rolls the services."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deploy import config as config_mod
from deploy.ecs import STAGES, build_plan
from deploy.plan import Step, placeholders, validate
from tests.deploy.deploy_testkit import step, steps_of, task_definitions


@pytest.mark.parametrize("stage", STAGES)
def test_every_planned_call_is_valid_against_the_aws_api_models(
    cfg: config_mod.Config, stage: str
) -> None:
    plan = build_plan(cfg, stage)
    assert plan
    assert validate(plan) == []


def test_create_plan_covers_the_whole_deployment(create_plan: list[Step]) -> None:
    calls = {(s.service, s.operation) for s in create_plan}
    for needed in [
        ("secretsmanager", "describe_secret"),
        ("logs", "create_log_group"),
        ("iam", "create_role"),
        ("iam", "put_role_policy"),
        ("ecs", "create_capacity_provider"),
        ("ecs", "create_cluster"),
        ("elbv2", "create_load_balancer"),
        ("elbv2", "create_target_group"),
        ("elbv2", "create_listener"),
        ("elbv2", "create_rule"),
        ("ecs", "register_task_definition"),
        ("ecs", "run_task"),
        ("ecs", "create_service"),
        ("application-autoscaling", "register_scalable_target"),
        ("application-autoscaling", "put_scaling_policy"),
        ("cloudwatch", "put_metric_alarm"),
    ]:
        assert needed in calls, needed
    assert set(task_definitions(create_plan)) == {
        "api",
        "frontend",
        "worker",
        "worker-gpu",
        "queue-metrics",
        "migrate",
        "dicom-node",
    }
    services = {s.params["serviceName"] for s in steps_of(create_plan, "ecs", "create_service")}
    assert services == {"api", "frontend", "worker", "worker-gpu", "queue-metrics", "dicom-node"}


def test_yaml_and_json_configs_give_the_same_plan(
    tmp_path: Path, cfg: config_mod.Config, example_data: dict[str, Any]
) -> None:
    as_json = tmp_path / "config.json"
    as_json.write_text(json.dumps(example_data))
    from_json = config_mod.load(as_json)
    assert build_plan(from_json) == build_plan(cfg)


def test_migration_runs_after_registration_and_before_any_service(create_plan: list[Step]) -> None:
    ids = [s.id for s in create_plan]
    first_service = min(ids.index(s.id) for s in steps_of(create_plan, "ecs", "create_service"))
    assert (
        ids.index("td-migrate")
        < ids.index("migrate-run")
        < ids.index("migrate-wait")
        < ids.index("migrate-result")
        < first_service
    )
    assert step(create_plan, "migrate-result").expect == {"tasks.0.containers.0.exitCode": 0}
    assert step(create_plan, "migrate-run").params["taskDefinition"] == "{{td-migrate.arn}}"
    # A service behind the ALB can only be created once its target group is in a listener rule.
    assert ids.index("rule-api") < ids.index("service-api")
    assert ids.index("listener-https") < ids.index("service-frontend")


def test_update_plan_registers_migrates_and_rolls_every_service(cfg: config_mod.Config) -> None:
    plan = build_plan(cfg, "update")
    # no IAM, ELB or scaling churn; ec2 only reads the VPC's CIDR
    assert {s.service for s in plan} == {"ecs", "secretsmanager", "ec2"}
    assert [s.operation for s in plan if s.service == "ec2"] == ["describe_vpcs"]
    updates = steps_of(plan, "ecs", "update_service")
    assert {u.params["service"]: u.params["taskDefinition"] for u in updates} == {
        "api": "{{td-api.arn}}",
        "frontend": "{{td-frontend.arn}}",
        "worker": "{{td-worker.arn}}",
        "worker-gpu": "{{td-worker-gpu.arn}}",
        "queue-metrics": "{{td-queue-metrics.arn}}",
        "dicom-node": "{{td-dicom-node.arn}}",
    }
    ids = [s.id for s in plan]
    assert ids.index("migrate-result") < min(ids.index(u.id) for u in updates)


def test_every_reference_resolves_to_an_earlier_output(create_plan: list[Step]) -> None:
    seen: dict[str, set[str]] = {}
    for s in create_plan:
        for ref, out in placeholders(s.params):
            assert out in seen.get(ref, set()), (s.id, ref, out)
        seen[s.id] = set(s.outputs)
