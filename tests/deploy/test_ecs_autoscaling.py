"""The ECS plan's autoscaling: the worker scales on the queue-depth metric the publisher writes,
the scalable targets are the configured services, and the GPU alarms drive their step
policies."""

from __future__ import annotations

from deploy import config as config_mod
from deploy.metrics import queue_depth_params
from deploy.plan import Step
from tests.deploy.deploy_testkit import step, steps_of


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
