"""The model on a SageMaker real-time endpoint: ``backend.sagemaker_server`` in the
``<registry>/<name>/sagemaker`` image, the ONNX model and manifest as ``model.tar.gz`` in S3.

``python -m deploy.sagemaker package --out DIR`` builds the archive;
``python -m deploy.sagemaker deploy --config FILE --archive DIR/model.tar.gz [--update]
[--dry-run]`` uploads it and creates (or, with --update, switches) the endpoint. Workers use it
with ``inference.backend: sagemaker`` in the same config.
"""

from __future__ import annotations

import re

from deploy import iam
from deploy.config import Config
from deploy.ecs.infra import tags
from deploy.plan import Step
from deploy.sagemaker.package import Packaged

VARIANT = "AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def execution_role(cfg: Config) -> str:
    return f"{cfg.name}-sagemaker-execution"


def model_name(cfg: Config, pkg: Packaged) -> str:
    """``<name>-<version>-<sha8>``: a new name per model, as SageMaker models are immutable."""
    version = re.sub(r"[^a-zA-Z0-9]+", "-", pkg.version).strip("-")
    return f"{cfg.name}-{version}-{pkg.sha256[:8]}"[:63].rstrip("-")


def model_key(cfg: Config, pkg: Packaged) -> str:
    return f"{cfg.sagemaker.model_prefix}{pkg.version}/{pkg.sha256[:12]}/model.tar.gz"


def _scaling(cfg: Config) -> list[Step]:
    sm = cfg.sagemaker
    resource = f"endpoint/{sm.endpoint}/variant/{VARIANT}"
    return [
        Step(
            "endpoint-scalable",
            "application-autoscaling",
            "register_scalable_target",
            {
                "ServiceNamespace": "sagemaker",
                "ResourceId": resource,
                "ScalableDimension": DIMENSION,
                "MinCapacity": sm.min,
                "MaxCapacity": sm.max,
            },
        ),
        Step(
            "endpoint-scaling",
            "application-autoscaling",
            "put_scaling_policy",
            {
                "PolicyName": f"{sm.endpoint}-invocations",
                "ServiceNamespace": "sagemaker",
                "ResourceId": resource,
                "ScalableDimension": DIMENSION,
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": float(sm.invocations_per_instance),
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                    },
                    "ScaleOutCooldown": 120,
                    "ScaleInCooldown": 600,
                },
            },
        ),
    ]


def build_plan(cfg: Config, pkg: Packaged, update: bool = False) -> list[Step]:
    sm = cfg.sagemaker
    name = model_name(cfg, pkg)
    key = model_key(cfg, pkg)
    role = execution_role(cfg)
    steps: list[Step] = []
    if not update:
        steps += [
            Step(
                "role-sagemaker",
                "iam",
                "create_role",
                {
                    "RoleName": role,
                    "AssumeRolePolicyDocument": iam.as_json(
                        iam.trust("sagemaker.amazonaws.com", cfg.account_id)
                    ),
                    "Description": "SageMaker: host the MedSegText model endpoint",
                    "Tags": tags(cfg),
                },
            ),
            Step(
                "policy-sagemaker",
                "iam",
                "put_role_policy",
                {
                    "RoleName": role,
                    "PolicyName": f"{role}-policy",
                    "PolicyDocument": iam.as_json(
                        iam.sagemaker_execution_policy(cfg, f"{sm.model_prefix}*")
                    ),
                },
            ),
        ]
    upload: dict[str, object] = {
        "Bucket": cfg.storage.bucket,
        "Key": key,
        "ContentType": "application/gzip",
        "Metadata": {
            "model-name": pkg.name,
            "model-version": pkg.version,
            "onnx-sha256": pkg.sha256,
        },
    }
    if cfg.storage.kms_key_arn:
        upload.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=cfg.storage.kms_key_arn)
    else:
        upload["ServerSideEncryption"] = "AES256"
    steps += [
        Step("model-upload", "s3", "put_object", upload, files={"Body": str(pkg.path)}),
        Step(
            "model",
            "sagemaker",
            "create_model",
            {
                "ModelName": name,
                "PrimaryContainer": {
                    "Image": cfg.image("sagemaker"),
                    # Unpacked into /opt/ml/model, where the server looks for its *.onnx.
                    "ModelDataUrl": f"s3://{cfg.storage.bucket}/{key}",
                },
                "ExecutionRoleArn": iam.role_arn(cfg, role),
                # The server needs no network: SageMaker itself fetches the model from S3.
                "EnableNetworkIsolation": True,
                "Tags": tags(cfg),
            },
        ),
        Step(
            "endpoint-config",
            "sagemaker",
            "create_endpoint_config",
            {
                "EndpointConfigName": name,
                "ProductionVariants": [
                    {
                        "VariantName": VARIANT,
                        "ModelName": name,
                        "InstanceType": sm.instance_type,
                        "InitialInstanceCount": sm.initial_instance_count,
                        "InitialVariantWeight": 1.0,
                        "ContainerStartupHealthCheckTimeoutInSeconds": 300,
                        "ModelDataDownloadTimeoutInSeconds": 600,
                    }
                ],
                "Tags": tags(cfg),
            },
        ),
    ]
    if update:
        # Automatic scaling must be off while an endpoint is updated; it is put back after.
        steps += [
            Step(
                "endpoint-unscale",
                "application-autoscaling",
                "deregister_scalable_target",
                {
                    "ServiceNamespace": "sagemaker",
                    "ResourceId": f"endpoint/{sm.endpoint}/variant/{VARIANT}",
                    "ScalableDimension": DIMENSION,
                },
            ),
            Step(
                "endpoint",
                "sagemaker",
                "update_endpoint",
                {"EndpointName": sm.endpoint, "EndpointConfigName": name},
            ),
        ]
    else:
        steps.append(
            Step(
                "endpoint",
                "sagemaker",
                "create_endpoint",
                {"EndpointName": sm.endpoint, "EndpointConfigName": name, "Tags": tags(cfg)},
            )
        )
    steps.append(
        Step(
            "endpoint-wait",
            "sagemaker",
            "endpoint_in_service",
            {"EndpointName": sm.endpoint, "WaiterConfig": {"Delay": 30, "MaxAttempts": 60}},
            wait=True,
        )
    )
    return steps + _scaling(cfg)
