"""The ECS plan's IAM: least privilege, each task role allowed only what its code calls, no
wildcard actions, and roles only ECS tasks (or the GPU instances) of this account can assume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deploy import config as config_mod
from deploy import iam
from deploy.plan import Step
from tests.deploy.deploy_testkit import steps_of, task_definitions


def _policies(plan: list[Step]) -> dict[str, dict[str, Any]]:
    return {
        s.params["RoleName"]: json.loads(s.params["PolicyDocument"])
        for s in steps_of(plan, "iam", "put_role_policy")
    }


def _grants(doc: dict[str, Any]) -> dict[str, set[str]]:
    """Action -> resources it is allowed on."""
    out: dict[str, set[str]] = {}
    for st in doc["Statement"]:
        assert st["Effect"] == "Allow"
        for action in iam.listify(st["Action"]):
            out.setdefault(action, set()).update(iam.listify(st["Resource"]))
    return out


def test_no_wildcard_actions_and_star_resources_only_where_aws_requires(
    create_plan: list[Step], cfg: config_mod.Config
) -> None:
    policies = _policies(create_plan)
    assert policies
    for role, doc in policies.items():
        for st in doc["Statement"]:
            for action in iam.listify(st["Action"]):
                assert "*" not in action, f"{role}: wildcard action {action}"
            if "*" in iam.listify(st["Resource"]):
                assert set(iam.listify(st["Action"])) <= iam.AWS_REQUIRES_STAR, (role, st)
            if "cloudwatch:PutMetricData" in iam.listify(st["Action"]):
                assert st["Condition"] == {
                    "StringEquals": {"cloudwatch:namespace": cfg.autoscaling.metric_namespace}
                }


def test_task_roles_get_only_what_their_code_calls(
    create_plan: list[Step], cfg: config_mod.Config
) -> None:
    policies = _policies(create_plan)
    objects = f"arn:aws:s3:::{cfg.storage.bucket}/{cfg.storage.prefix}*"
    models = f"arn:aws:s3:::{cfg.storage.bucket}/models/*"
    table = f"arn:aws:dynamodb:{cfg.region}:{cfg.account_id}:table/{cfg.storage.table}"
    endpoint = f"arn:aws:sagemaker:{cfg.region}:{cfg.account_id}:endpoint/medsegtext"

    worker = _grants(policies["medsegtext-worker-task"])
    assert worker == {
        "s3:GetObject": {objects, models},
        "s3:PutObject": {objects},
        "dynamodb:PutItem": {table},
        "dynamodb:GetItem": {table},
        "dynamodb:Query": {table},
        "sagemaker:InvokeEndpoint": {endpoint},
    }
    api = _grants(policies["medsegtext-api-task"])
    assert api == {
        "s3:GetObject": {objects},
        "s3:PutObject": {objects, models},
        "s3:DeleteObject": {objects},
        "s3:ListBucket": {f"arn:aws:s3:::{cfg.storage.bucket}"},
        "dynamodb:GetItem": {table},
        "dynamodb:Query": {table},
    }
    assert _grants(policies["medsegtext-queue-metrics-task"]) == {"cloudwatch:PutMetricData": {"*"}}
    execution = _grants(policies["medsegtext-task-execution"])
    assert execution["secretsmanager:GetSecretValue"] == set(cfg.secrets.values())
    assert all(
        r.startswith(f"arn:aws:ecr:{cfg.region}:{cfg.account_id}:repository/medsegtext/")
        for r in execution["ecr:BatchGetImage"]
    )
    # The portal and the migration call no AWS API themselves: no task role at all.
    tds = task_definitions(create_plan)
    assert "taskRoleArn" not in tds["frontend"] and "taskRoleArn" not in tds["migrate"]
    assert tds["api"]["taskRoleArn"].endswith(":role/medsegtext-api-task")
    assert tds["worker-gpu"]["taskRoleArn"] == tds["worker"]["taskRoleArn"]


def test_registry_prefix_is_the_backends(root: Path) -> None:
    """Uploaded model versions are stored (API) and fetched (workers) under this prefix."""
    from backend.models_registry.service import MODEL_PREFIX

    assert iam.REGISTRY_PREFIX == MODEL_PREFIX


def test_task_roles_trust_only_ecs_tasks_of_this_account(
    create_plan: list[Step], cfg: config_mod.Config
) -> None:
    for s in steps_of(create_plan, "iam", "create_role"):
        trust = json.loads(s.params["AssumeRolePolicyDocument"])["Statement"]
        assert len(trust) == 1 and trust[0]["Action"] == "sts:AssumeRole"
        if trust[0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}:
            assert trust[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": cfg.account_id}}
        else:
            assert trust[0]["Principal"] == {"Service": "ec2.amazonaws.com"}
            assert s.params["RoleName"] == "medsegtext-gpu-instance"
