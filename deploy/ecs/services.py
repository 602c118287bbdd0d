"""Task definition registration, the migrate one-off run, and the ECS services."""

from __future__ import annotations

from typing import Any

from deploy import containers
from deploy.config import Config
from deploy.ecs import taskdefs
from deploy.ecs.infra import gpu_capacity_provider, tags
from deploy.plan import Step

#: ECS service name -> (task definition component, config size key).
SERVICES = {
    "api": ("api", "api"),
    "frontend": ("frontend", "frontend"),
    "worker": ("worker", "worker"),
    "worker-gpu": ("worker-gpu", "worker_gpu"),
    "queue-metrics": ("queue-metrics", "queue_metrics"),
    "dicom-node": ("dicom-node", "dicom_node"),
}
MIGRATE_TIMEOUT_S = 900


def register(cfg: Config) -> list[Step]:
    return [
        Step(
            f"td-{component}",
            "ecs",
            "register_task_definition",
            taskdefs.TASK_DEFINITIONS[component](cfg),
            outputs={"arn": "taskDefinition.taskDefinitionArn"},
        )
        for component in taskdefs.components(cfg)
    ]


def deployed(cfg: Config) -> dict[str, tuple[str, str]]:
    """The services this config runs (the DICOM node only with a PACS)."""
    wanted = set(taskdefs.components(cfg))
    return {name: spec for name, spec in SERVICES.items() if spec[0] in wanted}


def network(cfg: Config) -> dict[str, Any]:
    return {
        "awsvpcConfiguration": {
            "subnets": list(cfg.network.private_subnets),
            "securityGroups": list(cfg.network.task_security_groups),
            "assignPublicIp": "DISABLED",
        }
    }


def run_migrations(cfg: Config) -> list[Step]:
    """``alembic upgrade head`` as a one-off task; the plan stops unless it exits 0."""
    return [
        Step(
            "migrate-run",
            "ecs",
            "run_task",
            {
                "cluster": cfg.name,
                "taskDefinition": "{{td-migrate.arn}}",
                "launchType": "FARGATE",
                "count": 1,
                "networkConfiguration": network(cfg),
                "startedBy": "medsegtext-deploy",
                "tags": tags(cfg, "key"),
            },
            outputs={"task": "tasks.0.taskArn"},
            expect={"failures": []},
        ),
        Step(
            "migrate-wait",
            "ecs",
            "tasks_stopped",
            {
                "cluster": cfg.name,
                "tasks": ["{{migrate-run.task}}"],
                "WaiterConfig": {"Delay": 10, "MaxAttempts": MIGRATE_TIMEOUT_S // 10},
            },
            wait=True,
        ),
        Step(
            "migrate-result",
            "ecs",
            "describe_tasks",
            {
                "cluster": cfg.name,
                "tasks": ["{{migrate-run.task}}"],
            },
            expect={"tasks.0.containers.0.exitCode": 0},
            note="the release stops here if the migration failed",
        ),
    ]


def _service(cfg: Config, name: str, **extra: Any) -> Step:
    component, size_key = SERVICES[name]
    params: dict[str, Any] = {
        "cluster": cfg.name,
        "serviceName": name,
        "taskDefinition": f"{{{{td-{component}.arn}}}}",
        "desiredCount": cfg.services[size_key].desired,
        "networkConfiguration": network(cfg),
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
        "enableECSManagedTags": True,
        "propagateTags": "SERVICE",
        "tags": tags(cfg, "key"),
    }
    if "capacityProviderStrategy" not in extra:
        params["launchType"] = "FARGATE"
        params["platformVersion"] = "LATEST"
    params.update(extra)
    return Step(
        f"service-{name}", "ecs", "create_service", params, outputs={"arn": "service.serviceArn"}
    )


def create(cfg: Config) -> list[Step]:
    return [
        _service(
            cfg,
            "api",
            loadBalancers=[
                {
                    "targetGroupArn": "{{tg-api.arn}}",
                    "containerName": "api",
                    "containerPort": containers.API_PORT,
                }
            ],
            healthCheckGracePeriodSeconds=60,
            serviceConnectConfiguration={
                "enabled": True,
                "namespace": cfg.name,
                "services": [
                    {
                        "portName": "api",
                        "discoveryName": "api",
                        "clientAliases": [
                            {"port": containers.API_PORT, "dnsName": containers.API_HOST}
                        ],
                    }
                ],
            },
        ),
        _service(
            cfg,
            "frontend",
            loadBalancers=[
                {
                    "targetGroupArn": "{{tg-frontend.arn}}",
                    "containerName": "frontend",
                    "containerPort": containers.FRONTEND_PORT,
                }
            ],
            healthCheckGracePeriodSeconds=180,
            serviceConnectConfiguration={"enabled": True, "namespace": cfg.name},
        ),
        _service(cfg, "worker"),
        _service(
            cfg,
            "worker-gpu",
            capacityProviderStrategy=[
                {"capacityProvider": gpu_capacity_provider(cfg), "weight": 1, "base": 0}
            ],
            placementStrategy=[{"type": "binpack", "field": "memory"}],
        ),
        _service(cfg, "queue-metrics"),
        *(
            [
                _service(
                    cfg,
                    "dicom-node",
                    loadBalancers=[
                        {
                            "targetGroupArn": "{{tg-dicom.arn}}",
                            "containerName": "dicom-node",
                            "containerPort": containers.NODE_PORT,
                        }
                    ],
                    healthCheckGracePeriodSeconds=60,
                )
            ]
            if cfg.pacs is not None
            else []
        ),
    ]


def update(cfg: Config) -> list[Step]:
    """Roll every service onto the task definitions registered by this release."""
    return [
        Step(
            f"update-{name}",
            "ecs",
            "update_service",
            {
                "cluster": cfg.name,
                "service": name,
                "taskDefinition": f"{{{{td-{component}.arn}}}}",
            },
            outputs={"arn": "service.serviceArn"},
        )
        for name, (component, _) in deployed(cfg).items()
    ]


def wait_stable(cfg: Config) -> list[Step]:
    return [
        Step(
            "services-stable",
            "ecs",
            "services_stable",
            {
                "cluster": cfg.name,
                "services": ["api", "frontend"],
                "WaiterConfig": {"Delay": 15, "MaxAttempts": 80},
            },
            wait=True,
        )
    ]
