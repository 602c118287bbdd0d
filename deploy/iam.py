"""Least-privilege IAM documents for each MedSegText role, built from the config.

Each task gets only what its code calls: the API reads and writes its S3 prefix and reads the
prediction table; the worker reads and writes its S3 prefix, writes prediction records and
invokes the SageMaker endpoint; the queue-metrics publisher only puts one metric namespace; the
frontend and the migrate task get no task role at all. ``Resource: "*"`` appears only where AWS
has no resource-level permission for the action (``AWS_REQUIRES_STAR``).
"""

from __future__ import annotations

import json
from typing import Any

from deploy import config
from deploy.config import Config

#: Actions that AWS authorises only against ``Resource: "*"``.
AWS_REQUIRES_STAR = frozenset({"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"})
ECR_PULL = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
ECS_COMPONENTS = ("api", "frontend", "worker", "worker-gpu", "migrate")
#: Where the API stores uploaded model versions and the workers fetch them from.
REGISTRY_PREFIX = config.REGISTRY_PREFIX
ALL_COMPONENTS = (*ECS_COMPONENTS, "sagemaker")


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def trust(service: str, account_id: str | None = None) -> dict[str, Any]:
    """Who may assume the role; scoped to our account where the service passes it."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if account_id:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account_id}}
    return document(statement)


def as_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def role_arn(cfg: Config, role: str) -> str:
    return cfg.arn("iam", f"role/{role}", region=False)


def bucket_arn(cfg: Config) -> str:
    return f"arn:{cfg.partition}:s3:::{cfg.storage.bucket}"


def objects_arn(cfg: Config) -> str:
    return f"{bucket_arn(cfg)}/{cfg.storage.prefix}*"


def registry_arn(cfg: Config) -> str:
    return f"{bucket_arn(cfg)}/{REGISTRY_PREFIX}*"


def table_arn(cfg: Config) -> str:
    return cfg.arn("dynamodb", f"table/{cfg.storage.table}")


def endpoint_arn(cfg: Config) -> str:
    return cfg.arn("sagemaker", f"endpoint/{cfg.sagemaker.endpoint.lower()}")


def log_group(cfg: Config) -> str:
    return f"/ecs/{cfg.name}"


def log_group_arn(cfg: Config) -> str:
    return cfg.arn("logs", f"log-group:{log_group(cfg)}")


def repository_arn(cfg: Config, component: str) -> str:
    return cfg.arn("ecr", f"repository/{cfg.name}/{component}")


def _kms(cfg: Config, actions: list[str]) -> list[dict[str, Any]]:
    if not cfg.storage.kms_key_arn:
        return []
    return [
        {
            "Sid": "BucketKey",
            "Effect": "Allow",
            "Action": actions,
            "Resource": cfg.storage.kms_key_arn,
        }
    ]


def put_metric(namespace: str) -> dict[str, Any]:
    """PutMetricData has no resource ARN; the namespace condition is the limit."""
    return {
        "Sid": "QueueMetric",
        "Effect": "Allow",
        "Action": "cloudwatch:PutMetricData",
        "Resource": "*",
        "Condition": {"StringEquals": {"cloudwatch:namespace": namespace}},
    }


def execution_policy(cfg: Config) -> dict[str, Any]:
    """What ECS itself needs to start our tasks: pull our images, write our logs, read our
    four secrets (nothing else in Secrets Manager)."""
    return document(
        {
            "Sid": "EcrToken",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        {
            "Sid": "PullOurImages",
            "Effect": "Allow",
            "Action": ECR_PULL,
            "Resource": [repository_arn(cfg, c) for c in ECS_COMPONENTS],
        },
        {
            "Sid": "WriteOurLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn(cfg)}:log-stream:*",
        },
        {
            "Sid": "ReadOurSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": sorted(set(cfg.secrets.values())),
        },
    )


def api_policy(cfg: Config) -> dict[str, Any]:
    return document(
        {
            "Sid": "CaseObjects",
            "Effect": "Allow",
            # Delete: an upload whose database row did not commit is removed again.
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": objects_arn(cfg),
        },
        # An admin registers a model version by upload: its ONNX file and manifest go to S3.
        {
            "Sid": "UploadModelVersions",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": registry_arn(cfg),
        },
        # HeadBucket (the /api/ready probe) is authorised as ListBucket on the bucket. HeadBucket
        # carries no prefix, hence ...IfExists; a listing that names a prefix must name ours.
        {
            "Sid": "ReadinessProbe",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn(cfg),
            "Condition": {"StringLikeIfExists": {"s3:prefix": f"{cfg.storage.prefix}*"}},
        },
        {
            "Sid": "ReadPredictions",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:Query"],
            "Resource": table_arn(cfg),
        },
        *_kms(cfg, ["kms:Decrypt", "kms:GenerateDataKey"]),
    )


def worker_policy(cfg: Config) -> dict[str, Any]:
    return document(
        {
            "Sid": "CaseObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": objects_arn(cfg),
        },
        {
            "Sid": "FetchModelVersions",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": registry_arn(cfg),
        },
        {
            "Sid": "PredictionRecords",
            "Effect": "Allow",
            "Action": ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"],
            "Resource": table_arn(cfg),
        },
        {
            "Sid": "InvokeModel",
            "Effect": "Allow",
            "Action": "sagemaker:InvokeEndpoint",
            "Resource": endpoint_arn(cfg),
        },
        *_kms(cfg, ["kms:Decrypt", "kms:GenerateDataKey"]),
    )


def queue_metrics_policy(cfg: Config) -> dict[str, Any]:
    return document(put_metric(cfg.autoscaling.metric_namespace))


def sagemaker_execution_policy(cfg: Config, model_key: str) -> dict[str, Any]:
    """What SageMaker needs to host the model: this one model artifact, this one image, and
    its endpoint's log group."""
    model_object = f"{bucket_arn(cfg)}/{model_key}"
    return document(
        {
            "Sid": "ModelArtifact",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": model_object,
        },
        {
            "Sid": "EcrToken",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        {
            "Sid": "PullServerImage",
            "Effect": "Allow",
            "Action": ECR_PULL,
            "Resource": repository_arn(cfg, "sagemaker"),
        },
        {
            "Sid": "EndpointLogs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            "Resource": [
                cfg.arn("logs", f"log-group:/aws/sagemaker/Endpoints/{cfg.sagemaker.endpoint}"),
                cfg.arn(
                    "logs",
                    f"log-group:/aws/sagemaker/Endpoints/{cfg.sagemaker.endpoint}:log-stream:*",
                ),
            ],
        },
        *_kms(cfg, ["kms:Decrypt"]),
    )


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return list(doc["Statement"])


def listify(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
