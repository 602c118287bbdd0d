"""Application Auto Scaling of the ECS services.

- API: target tracking on average CPU.
- CPU workers: target tracking on *queued images per running worker*, a metric-math expression
  over ``MedSegText/QueueDepth`` (published by ``deploy.metrics``) divided by the service's
  RunningTaskCount (Container Insights). Target tracking needs a metric that falls as capacity
  rises; the raw queue depth does not, the backlog per worker does.
- GPU workers: step scaling from zero on CloudWatch alarms on the raw queue depth, for a backlog
  the CPU workers' maximum cannot absorb.
"""

from __future__ import annotations

from typing import Any

from deploy.config import Config
from deploy.metrics import DIMENSION, METRIC_NAME
from deploy.plan import Step

ECS_DIMENSION = "ecs:service:DesiredCount"


def resource_id(cfg: Config, service: str) -> str:
    return f"service/{cfg.name}/{service}"


def queue_metric(cfg: Config) -> dict[str, Any]:
    return {
        "Namespace": cfg.autoscaling.metric_namespace,
        "MetricName": METRIC_NAME,
        "Dimensions": [{"Name": DIMENSION, "Value": cfg.name}],
    }


def _register(cfg: Config, service: str, size_key: str) -> Step:
    size = cfg.services[size_key]
    return Step(
        f"scalable-{service}",
        "application-autoscaling",
        "register_scalable_target",
        {
            "ServiceNamespace": "ecs",
            "ResourceId": resource_id(cfg, service),
            "ScalableDimension": ECS_DIMENSION,
            "MinCapacity": size.min,
            "MaxCapacity": size.max,
            "Tags": {"application": cfg.name},
        },
    )


def _policy(cfg: Config, service: str, name: str, kind: str, config: dict[str, Any]) -> Step:
    key = (
        "TargetTrackingScalingPolicyConfiguration"
        if kind == "TargetTrackingScaling"
        else "StepScalingPolicyConfiguration"
    )
    return Step(
        f"scaling-{name}",
        "application-autoscaling",
        "put_scaling_policy",
        {
            "PolicyName": f"{cfg.name}-{name}",
            "ServiceNamespace": "ecs",
            "ResourceId": resource_id(cfg, service),
            "ScalableDimension": ECS_DIMENSION,
            "PolicyType": kind,
            key: config,
        },
        outputs={"arn": "PolicyARN"},
    )


def backlog_per_worker_metric(cfg: Config) -> dict[str, Any]:
    """Queued images / running CPU workers (the queue depth itself while none is counted)."""
    return {
        "Metrics": [
            {
                "Id": "queued",
                "ReturnData": False,
                "MetricStat": {"Metric": queue_metric(cfg), "Stat": "Maximum", "Unit": "Count"},
            },
            {
                "Id": "workers",
                "ReturnData": False,
                "MetricStat": {
                    "Metric": {
                        "Namespace": "ECS/ContainerInsights",
                        "MetricName": "RunningTaskCount",
                        "Dimensions": [
                            {"Name": "ClusterName", "Value": cfg.name},
                            {"Name": "ServiceName", "Value": "worker"},
                        ],
                    },
                    "Stat": "Average",
                },
            },
            {
                "Id": "backlog_per_worker",
                "Label": "queued images per running worker",
                "Expression": "IF(workers > 0, queued / workers, queued)",
                "ReturnData": True,
            },
        ]
    }


def _alarm(
    cfg: Config,
    name: str,
    description: str,
    *,
    statistic: str,
    period: int,
    periods: int,
    threshold: float,
    comparison: str,
    actions: list[str],
    missing: str = "notBreaching",
) -> Step:
    return Step(
        f"alarm-{name}",
        "cloudwatch",
        "put_metric_alarm",
        {
            "AlarmName": f"{cfg.name}-{name}",
            "AlarmDescription": description,
            **queue_metric(cfg),
            "Statistic": statistic,
            "Period": period,
            "EvaluationPeriods": periods,
            "DatapointsToAlarm": periods,
            "Threshold": threshold,
            "ComparisonOperator": comparison,
            "TreatMissingData": missing,
            "ActionsEnabled": True,
            "AlarmActions": actions,
            "Tags": [{"Key": "application", "Value": cfg.name}],
        },
    )


def steps(cfg: Config) -> list[Step]:
    a = cfg.autoscaling
    out = [
        _register(cfg, "api", "api"),
        _policy(
            cfg,
            "api",
            "api-cpu",
            "TargetTrackingScaling",
            {
                "TargetValue": float(a.api_cpu_target),
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
                },
                "ScaleOutCooldown": 60,
                "ScaleInCooldown": 300,
            },
        ),
        _register(cfg, "worker", "worker"),
        _policy(
            cfg,
            "worker",
            "worker-backlog",
            "TargetTrackingScaling",
            {
                "TargetValue": float(a.backlog_per_worker),
                "CustomizedMetricSpecification": backlog_per_worker_metric(cfg),
                "ScaleOutCooldown": 60,
                "ScaleInCooldown": 300,
            },
        ),
        _register(cfg, "worker-gpu", "worker_gpu"),
        _policy(
            cfg,
            "worker-gpu",
            "worker-gpu-out",
            "StepScaling",
            {
                "AdjustmentType": "ChangeInCapacity",
                "Cooldown": 300,
                "MetricAggregationType": "Maximum",
                "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
            },
        ),
        _policy(
            cfg,
            "worker-gpu",
            "worker-gpu-in",
            "StepScaling",
            {
                "AdjustmentType": "ChangeInCapacity",
                "Cooldown": 600,
                "MetricAggregationType": "Maximum",
                "StepAdjustments": [{"MetricIntervalUpperBound": 0.0, "ScalingAdjustment": -1}],
            },
        ),
        _alarm(
            cfg,
            "gpu-scale-out",
            "Queue backlog beyond the CPU workers: add a GPU worker",
            statistic="Maximum",
            period=60,
            periods=3,
            threshold=float(a.gpu_scale_out_depth),
            comparison="GreaterThanOrEqualToThreshold",
            actions=["{{scaling-worker-gpu-out.arn}}"],
        ),
        _alarm(
            cfg,
            "gpu-scale-in",
            "Queue nearly empty: remove a GPU worker",
            statistic="Maximum",
            period=60,
            periods=15,
            threshold=float(a.gpu_scale_in_depth),
            comparison="LessThanThreshold",
            actions=["{{scaling-worker-gpu-in.arn}}"],
            missing="breaching",
        ),
    ]
    if cfg.alarm_topic_arn:
        out += [
            _alarm(
                cfg,
                "queue-metric-missing",
                "No QueueDepth data for 5 minutes: the publisher is down and the workers "
                "no longer scale",
                statistic="SampleCount",
                period=300,
                periods=1,
                threshold=1.0,
                comparison="LessThanThreshold",
                actions=[cfg.alarm_topic_arn],
                missing="breaching",
            ),
            _alarm(
                cfg,
                "queue-backlog",
                "Queue above the GPU threshold for 15 minutes: workers are at their maximum "
                "or failing",
                statistic="Minimum",
                period=60,
                periods=15,
                threshold=float(a.gpu_scale_out_depth),
                comparison="GreaterThanOrEqualToThreshold",
                actions=[cfg.alarm_topic_arn],
            ),
        ]
    return out
