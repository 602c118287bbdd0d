"""The ECS plan: every call valid against the AWS API models, and the properties that matter
for a hospital deployment (secrets, least privilege, routing, GPU placement, scaling)."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest

from backend.http.proxies import client_address, parse_networks
from backend.settings import Settings
from deploy import config as config_mod
from deploy import iam
from deploy.ecs import STAGES, build_plan
from deploy.ecs.taskdefs import SECRET_ENV
from deploy.metrics import queue_depth_params
from deploy.plan import Step, placeholders, validate
from tests.deploy.deploy_testkit import (
    FRONTEND_ENV,
    REFLEX_ENV,
    REQUIRED_BACKEND_ENV,
    portal_config,
    step,
    steps_of,
    task_definitions,
)

BACKEND_COMPONENTS = ("api", "worker", "worker-gpu", "dicom-node")


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


# --- task definitions ---------------------------------------------------------------------------


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


# --- load balancer --------------------------------------------------------------------------------


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


# --- IAM ------------------------------------------------------------------------------------------


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


# --- autoscaling ----------------------------------------------------------------------------------


def test_worker_scaling_reads_the_metric_the_publisher_writes(
    create_plan: list[Step], cfg: config_mod.Config
) -> None:
    published = queue_depth_params(5, cfg.autoscaling.metric_namespace, cfg.name)
    datum = published["MetricData"][0]
    policy = step(create_plan, "scaling-worker-backlog").params
    spec = policy["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"]
    queued = next(m for m in spec["Metrics"] if m["Id"] == "queued")["MetricStat"]["Metric"]
    assert queued == {
        "Namespace": published["Namespace"],
        "MetricName": datum["MetricName"],
        "Dimensions": datum["Dimensions"],
    }
    returned = [m for m in spec["Metrics"] if m.get("ReturnData")]
    assert len(returned) == 1 and "queued / workers" in returned[0]["Expression"]
    assert policy["ResourceId"] == "service/medsegtext/worker"
    for name in ("gpu-scale-out", "gpu-scale-in"):
        alarm = step(create_plan, f"alarm-{name}").params
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Dimensions"]) == (
            published["Namespace"],
            datum["MetricName"],
            datum["Dimensions"],
        )
    # The RunningTaskCount divisor exists only with Container Insights on.
    assert {"name": "containerInsights", "value": "enabled"} in step(create_plan, "cluster").params[
        "settings"
    ]


def test_scaling_targets_match_services_and_config(
    create_plan: list[Step], cfg: config_mod.Config
) -> None:
    services = {s.params["serviceName"] for s in steps_of(create_plan, "ecs", "create_service")}
    targets = steps_of(create_plan, "application-autoscaling", "register_scalable_target")
    for t in targets:
        name = t.params["ResourceId"].removeprefix("service/medsegtext/")
        assert name in services
        size = cfg.services[name.replace("-", "_")]
        assert (t.params["MinCapacity"], t.params["MaxCapacity"]) == (size.min, size.max)
    assert {t.params["ResourceId"] for t in targets} == {
        "service/medsegtext/api",
        "service/medsegtext/worker",
        "service/medsegtext/worker-gpu",
    }
    ids = [s.id for s in create_plan]
    for t in targets:  # a scalable target needs its service
        assert ids.index(f"service-{t.id.removeprefix('scalable-')}") < ids.index(t.id)


def test_gpu_alarms_trigger_the_step_policies(create_plan: list[Step]) -> None:
    out = step(create_plan, "alarm-gpu-scale-out").params
    scale_in = step(create_plan, "alarm-gpu-scale-in").params
    assert out["AlarmActions"] == ["{{scaling-worker-gpu-out.arn}}"]
    assert scale_in["AlarmActions"] == ["{{scaling-worker-gpu-in.arn}}"]
    assert out["Threshold"] > scale_in["Threshold"]
    assert scale_in["TreatMissingData"] == "breaching"  # no metric: fall back to no GPUs
    assert step(create_plan, "scaling-worker-gpu-out").outputs == {"arn": "PolicyARN"}


def test_every_reference_resolves_to_an_earlier_output(create_plan: list[Step]) -> None:
    seen: dict[str, set[str]] = {}
    for s in create_plan:
        for ref, out in placeholders(s.params):
            assert out in seen.get(ref, set()), (s.id, ref, out)
        seen[s.id] = set(s.outputs)


# --- the DICOM node (issue 16) -----------------------------------------------------------------


def test_the_dicom_node_is_reached_through_an_internal_nlb_admitting_only_the_pacs(
    create_plan: list[Step], cfg: config_mod.Config
) -> None:
    assert cfg.pacs is not None
    nlb = step(create_plan, "nlb").params
    assert (nlb["Type"], nlb["Scheme"]) == ("network", "internal")
    assert nlb["Subnets"] == list(cfg.network.private_subnets)
    assert nlb["SecurityGroups"] == list(cfg.pacs.nlb_security_groups)
    tg = step(create_plan, "tg-dicom").params
    assert (tg["Protocol"], tg["Port"], tg["HealthCheckProtocol"]) == ("TCP", 11112, "TCP")
    listener = step(create_plan, "listener-dicom").params
    assert (listener["Protocol"], listener["Port"]) == ("TCP", 11112)
    assert listener["LoadBalancerArn"] == "{{nlb.arn}}"
    assert listener["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": "{{tg-dicom.arn}}"}]
    service = step(create_plan, "service-dicom-node").params
    assert service["loadBalancers"] == [
        {
            "targetGroupArn": "{{tg-dicom.arn}}",
            "containerName": "dicom-node",
            "containerPort": 11112,
        }
    ]
    ids = [s.id for s in create_plan]
    assert ids.index("listener-dicom") < ids.index("service-dicom-node")


def test_the_node_and_the_senders_share_the_pacs_settings_and_the_identity_key(
    create_plan: list[Step], cfg: config_mod.Config
) -> None:
    assert cfg.pacs is not None
    tds = task_definitions(create_plan)
    node = tds["dicom-node"]["containerDefinitions"][0]
    assert node["command"] == ["python", "-m", "backend.dicom_node"]
    assert node["image"] == cfg.image("api")
    assert node["portMappings"] == [{"name": "dicom", "containerPort": 11112, "protocol": "tcp"}]
    env = {e["name"]: e["value"] for e in node["environment"]}
    assert env["MEDSEGTEXT_DICOM_HOST"] == "0.0.0.0"
    assert env["MEDSEGTEXT_DICOM_CALLING_AETS"] == ",".join(cfg.pacs.calling_aets)
    assert env["MEDSEGTEXT_DICOM_SERVICE_ACCOUNT"] == cfg.pacs.service_account
    for name in ("api", "worker", "worker-gpu", "dicom-node"):
        c = tds[name]["containerDefinitions"][0]
        env = {e["name"]: e["value"] for e in c["environment"]}
        assert (
            env["MEDSEGTEXT_PACS_AE_TITLE"],
            env["MEDSEGTEXT_PACS_HOST"],
            env["MEDSEGTEXT_PACS_PORT"],
            env["MEDSEGTEXT_DICOM_AE_TITLE"],
        ) == (cfg.pacs.ae_title, cfg.pacs.host, str(cfg.pacs.port), cfg.pacs.node_ae_title), name
        (key,) = [s for s in c["secrets"] if s["name"] == "MEDSEGTEXT_IDENTITY_KEY"]
        assert key["valueFrom"] == cfg.secrets["identity_key"], name
    # the migration and the metrics publisher never see the identity key
    for name in ("migrate", "queue-metrics"):
        names = {s["name"] for s in tds[name]["containerDefinitions"][0]["secrets"]}
        assert "MEDSEGTEXT_IDENTITY_KEY" not in names, name


def test_without_a_pacs_there_is_no_node_and_nothing_to_send(example_data: dict[str, Any]) -> None:
    data = {k: v for k, v in example_data.items() if k != "pacs"}
    cfg = config_mod.parse(data)
    plan = build_plan(cfg)
    assert validate(plan) == []
    assert "dicom-node" not in task_definitions(plan)
    assert not [
        s for s in plan if s.id in ("nlb", "tg-dicom", "listener-dicom", "service-dicom-node")
    ]
    updates = {
        s.params["service"] for s in steps_of(build_plan(cfg, "update"), "ecs", "update_service")
    }
    assert "dicom-node" not in updates
    env = {
        e["name"] for e in task_definitions(plan)["api"]["containerDefinitions"][0]["environment"]
    }
    assert "MEDSEGTEXT_PACS_AE_TITLE" not in env
