"""The ECS plan's load balancer and network: the ALB sends /api/* to the API and the rest to the
portal, tasks stay in private subnets, and names fit the AWS limits."""

from __future__ import annotations

from pathlib import Path

from deploy import config as config_mod
from deploy.plan import Step
from tests.deploy.deploy_testkit import step, steps_of


def test_alb_routes_api_paths_to_the_api_and_the_rest_to_the_portal(
    create_plan: list[Step], root: Path
) -> None:
    https = step(create_plan, "listener-https").params
    assert https["Protocol"] == "HTTPS" and https["Port"] == 443
    assert https["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": "{{tg-frontend.arn}}"}]
    http = step(create_plan, "listener-http").params
    assert http["DefaultActions"][0]["Type"] == "redirect"
    rule = step(create_plan, "rule-api").params
    assert rule["ListenerArn"] == "{{listener-https.arn}}"
    assert rule["Conditions"] == [
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}
    ]
    assert rule["Actions"] == [{"Type": "forward", "TargetGroupArn": "{{tg-api.arn}}"}]
    api_tg = step(create_plan, "tg-api").params
    assert (api_tg["Port"], api_tg["HealthCheckPath"]) == (8000, "/api/ready")
    assert '"/ready"' in (root / "backend/http/health.py").read_text()
    front_tg = step(create_plan, "tg-frontend").params
    assert (front_tg["Port"], front_tg["HealthCheckPath"]) == (3000, "/ping")
    sticky = {
        a["Key"]: a["Value"]
        for a in step(create_plan, "tg-frontend-attributes").params["Attributes"]
    }
    assert sticky["stickiness.enabled"] == "true"  # portal sessions live in one process
    lb = {
        s.params["serviceName"]: s.params.get("loadBalancers")
        for s in steps_of(create_plan, "ecs", "create_service")
    }
    assert lb["api"] == [
        {"targetGroupArn": "{{tg-api.arn}}", "containerName": "api", "containerPort": 8000}
    ]
    assert lb["frontend"][0]["targetGroupArn"] == "{{tg-frontend.arn}}"
    assert lb["worker"] is None and lb["worker-gpu"] is None


def test_tasks_stay_in_private_subnets(create_plan: list[Step], cfg: config_mod.Config) -> None:
    for s in [
        *steps_of(create_plan, "ecs", "create_service"),
        *steps_of(create_plan, "ecs", "run_task"),
    ]:
        vpc = s.params["networkConfiguration"]["awsvpcConfiguration"]
        assert vpc["assignPublicIp"] == "DISABLED", s.id
        assert vpc["subnets"] == list(cfg.network.private_subnets), s.id
    assert step(create_plan, "alb").params["Subnets"] == list(cfg.network.public_subnets)


def test_names_fit_aws_limits(create_plan: list[Step]) -> None:
    for s in steps_of(create_plan, "elbv2", "create_target_group") + steps_of(
        create_plan, "elbv2", "create_load_balancer"
    ):
        assert len(s.params["Name"]) <= 32, s.params["Name"]
    for s in steps_of(create_plan, "iam", "create_role"):
        assert len(s.params["RoleName"]) <= 64
    for s in steps_of(create_plan, "iam", "put_role_policy"):
        assert len(s.params["PolicyDocument"]) <= 10240  # inline role policy limit
