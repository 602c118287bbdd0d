"""The steps that exist once per deployment: image repositories, secrets check, log group, IAM
roles, the GPU capacity (launch template, Auto Scaling group, capacity provider) and the
cluster."""

from __future__ import annotations

import base64

from deploy import iam
from deploy.config import Config
from deploy.ecs.taskdefs import role_names
from deploy.plan import Step

ECS_INSTANCE_POLICY = "service-role/AmazonEC2ContainerServiceforEC2Role"  # AWS managed


def tags(cfg: Config, style: str = "Key") -> list[dict[str, str]]:
    """The application tag in each API's spelling (Key/Value, key/value)."""
    k, v = ("Key", "Value") if style == "Key" else ("key", "value")
    return [{k: "application", v: cfg.name}]


def repositories(cfg: Config) -> list[Step]:
    """One ECR repository per image; tags are immutable, so a tag names one build forever."""
    return [
        Step(
            f"repo-{c}",
            "ecr",
            "create_repository",
            {
                "repositoryName": f"{cfg.name}/{c}",
                "imageTagMutability": "IMMUTABLE",
                "imageScanningConfiguration": {"scanOnPush": True},
                "encryptionConfiguration": {"encryptionType": "AES256"},
                "tags": tags(cfg),
            },
        )
        for c in iam.ALL_COMPONENTS
    ]


def check_secrets(cfg: Config) -> list[Step]:
    """Fail before creating anything if a referenced secret does not exist (read-only)."""
    return [
        Step(
            f"secret-{name}",
            "secretsmanager",
            "describe_secret",
            {"SecretId": arn},
            note="preflight: the secret exists; its value is never read here",
        )
        for name, arn in cfg.secrets.items()
        if ":secretsmanager:" in arn
    ]


def check_network(cfg: Config) -> list[Step]:
    """Fail before defining any task if ``network.vpc_cidr`` is not the VPC's CIDR: the API
    believes forwarded client addresses from inside it (read-only)."""
    return [
        Step(
            "vpc-cidr",
            "ec2",
            "describe_vpcs",
            {"VpcIds": [cfg.network.vpc_id]},
            expect={"Vpcs.0.CidrBlock": cfg.network.vpc_cidr},
            note="preflight: network.vpc_cidr is the VPC's primary CIDR",
        )
    ]


def log_group(cfg: Config) -> list[Step]:
    name = iam.log_group(cfg)
    return [
        Step(
            "log-group",
            "logs",
            "create_log_group",
            {"logGroupName": name, "tags": {"application": cfg.name}},
        ),
        Step(
            "log-retention",
            "logs",
            "put_retention_policy",
            {"logGroupName": name, "retentionInDays": cfg.log_retention_days},
        ),
    ]


def _role(
    cfg: Config,
    key: str,
    service: str,
    policy: dict[str, object] | None,
    description: str,
    scoped: bool = True,
) -> list[Step]:
    name = role_names(cfg)[key]
    steps = [
        Step(
            f"role-{key}",
            "iam",
            "create_role",
            {
                "RoleName": name,
                "AssumeRolePolicyDocument": iam.as_json(
                    iam.trust(service, cfg.account_id if scoped else None)
                ),
                "Description": description,
                "MaxSessionDuration": 3600,
                "Tags": tags(cfg),
            },
        )
    ]
    if policy is not None:
        steps.append(
            Step(
                f"policy-{key}",
                "iam",
                "put_role_policy",
                {
                    "RoleName": name,
                    "PolicyName": f"{name}-policy",
                    "PolicyDocument": iam.as_json(policy),
                },
            )
        )
    return steps


def roles(cfg: Config) -> list[Step]:
    ecs_tasks = "ecs-tasks.amazonaws.com"
    instance = role_names(cfg)["gpu_instance"]
    return [
        *_role(
            cfg,
            "execution",
            ecs_tasks,
            iam.execution_policy(cfg),
            "ECS: pull MedSegText images, write its logs, read its four secrets",
        ),
        *_role(cfg, "api", ecs_tasks, iam.api_policy(cfg), "MedSegText API task"),
        *_role(
            cfg,
            "worker",
            ecs_tasks,
            iam.worker_policy(cfg),
            "MedSegText inference workers (CPU and GPU)",
        ),
        *_role(
            cfg,
            "queue_metrics",
            ecs_tasks,
            iam.queue_metrics_policy(cfg),
            "MedSegText queue-depth publisher",
        ),
        *_role(
            cfg,
            "gpu_instance",
            "ec2.amazonaws.com",
            None,
            "ECS container instances of the GPU capacity",
            scoped=False,
        ),
        Step(
            "policy-gpu_instance",
            "iam",
            "attach_role_policy",
            {
                "RoleName": instance,
                "PolicyArn": f"arn:{cfg.partition}:iam::aws:policy/{ECS_INSTANCE_POLICY}",
            },
        ),
        Step(
            "instance-profile",
            "iam",
            "create_instance_profile",
            {"InstanceProfileName": instance, "Tags": tags(cfg)},
        ),
        Step(
            "instance-profile-role",
            "iam",
            "add_role_to_instance_profile",
            {"InstanceProfileName": instance, "RoleName": instance},
        ),
    ]


def gpu_user_data(cfg: Config) -> str:
    script = (
        "#!/bin/bash\n"
        "cat >> /etc/ecs/ecs.config <<'EOF'\n"
        f"ECS_CLUSTER={cfg.name}\n"
        "ECS_ENABLE_GPU_SUPPORT=true\n"
        "ECS_AWSVPC_BLOCK_IMDS=true\n"
        "EOF\n"
    )
    return base64.b64encode(script.encode()).decode()


def gpu_capacity(cfg: Config) -> list[Step]:
    """EC2 GPU instances for the GPU worker, scaled by ECS (managed scaling) from zero."""
    name = f"{cfg.name}-gpu"
    return [
        Step(
            "gpu-ami",
            "ssm",
            "get_parameter",
            {"Name": cfg.gpu.ami_ssm_parameter},
            outputs={"image_id": "Parameter.Value"},
            note="the current ECS GPU-optimised AMI",
        ),
        Step(
            "gpu-launch-template",
            "ec2",
            "create_launch_template",
            {
                "LaunchTemplateName": name,
                "LaunchTemplateData": {
                    "ImageId": "{{gpu-ami.image_id}}",
                    "InstanceType": cfg.gpu.instance_type,
                    "IamInstanceProfile": {"Name": role_names(cfg)["gpu_instance"]},
                    "SecurityGroupIds": list(cfg.network.task_security_groups),
                    "UserData": gpu_user_data(cfg),
                    "MetadataOptions": {
                        "HttpTokens": "required",
                        "HttpPutResponseHopLimit": 1,
                        "HttpEndpoint": "enabled",
                    },
                    "Monitoring": {"Enabled": True},
                    "TagSpecifications": [
                        {
                            "ResourceType": "instance",
                            "Tags": [*tags(cfg), {"Key": "Name", "Value": name}],
                        }
                    ],
                },
                "TagSpecifications": [{"ResourceType": "launch-template", "Tags": tags(cfg)}],
            },
        ),
        Step(
            "gpu-asg",
            "autoscaling",
            "create_auto_scaling_group",
            {
                "AutoScalingGroupName": name,
                "LaunchTemplate": {"LaunchTemplateName": name, "Version": "$Latest"},
                "MinSize": 0,
                "MaxSize": cfg.gpu.max_instances,
                "DesiredCapacity": 0,
                "VPCZoneIdentifier": ",".join(cfg.network.private_subnets),
                "NewInstancesProtectedFromScaleIn": False,
                "Tags": [
                    {"Key": "application", "Value": cfg.name, "PropagateAtLaunch": True},
                    {"Key": "AmazonECSManaged", "Value": "true", "PropagateAtLaunch": True},
                ],
            },
        ),
        Step(
            "gpu-asg-arn",
            "autoscaling",
            "describe_auto_scaling_groups",
            {"AutoScalingGroupNames": [name]},
            outputs={"arn": "AutoScalingGroups.0.AutoScalingGroupARN"},
        ),
        Step(
            "gpu-capacity-provider",
            "ecs",
            "create_capacity_provider",
            {
                "name": name,
                "autoScalingGroupProvider": {
                    "autoScalingGroupArn": "{{gpu-asg-arn.arn}}",
                    "managedScaling": {
                        "status": "ENABLED",
                        "targetCapacity": 100,
                        "minimumScalingStepSize": 1,
                        "maximumScalingStepSize": max(1, cfg.gpu.max_instances),
                        "instanceWarmupPeriod": 300,
                    },
                    "managedTerminationProtection": "DISABLED",
                    "managedDraining": "ENABLED",
                },
                "tags": tags(cfg, "key"),
            },
        ),
    ]


def gpu_capacity_provider(cfg: Config) -> str:
    return f"{cfg.name}-gpu"


def cluster(cfg: Config) -> list[Step]:
    return [
        Step(
            "cluster",
            "ecs",
            "create_cluster",
            {
                "clusterName": cfg.name,
                # Container Insights gives RunningTaskCount, the divisor of the worker
                # scaling metric.
                "settings": [{"name": "containerInsights", "value": "enabled"}],
                "capacityProviders": ["FARGATE", gpu_capacity_provider(cfg)],
                "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}],
                # Creates the Cloud Map namespace in which the frontend finds the API as "api".
                "serviceConnectDefaults": {"namespace": cfg.name},
                "tags": tags(cfg, "key"),
            },
        )
    ]
