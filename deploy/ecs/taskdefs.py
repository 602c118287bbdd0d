"""ECS task definitions: api, frontend, CPU worker and queue-metrics on Fargate, the GPU worker
on EC2 GPU capacity, the migrate one-off, and with a PACS configured the DICOM node (Fargate).

Each container is built from its declaration in deploy/containers.py (image, command, ports,
environment, health check, read-only root); this module adds what only ECS has: the config's
values for the variables the declaration leaves to each deployment, secrets from Secrets
Manager through the ``secrets`` list (plain ``environment`` holds nothing secret), logs, sizes
and roles."""

from __future__ import annotations

from typing import Any

from deploy import iam
from deploy.config import Config
from deploy.containers import CONTAINERS, PACS_ENV, WRITABLE_PATH, Container

# Settings field -> the environment variable backend/settings/ reads it from.
SECRET_ENV = {
    "database_url": "DATABASE_URL",
    "redis_url": "REDIS_URL",
    "secret_key": "MEDSEGTEXT_SECRET_KEY",
    "identity_key": "MEDSEGTEXT_IDENTITY_KEY",
}
TMP_VOLUME = "tmp"  # the task volume mounted at the one writable path of read-only containers
#: The API task's own network namespace: requests reach the API through the ECS-managed
#: Service Connect proxy in its task, which may connect from loopback. No other container runs
#: in that task.
TASK_LOOPBACK = "127.0.0.1"
#: Proxies between a browser and the portal: the ALB. Reflex then takes the browser's address
#: from the last X-Forwarded-For entry (the one the ALB appended) and forwards it to the API.
PORTAL_PROXY_HOPS = 1


def role_names(cfg: Config) -> dict[str, str]:
    n = cfg.name
    return {
        "execution": f"{n}-task-execution",
        "api": f"{n}-api-task",
        "worker": f"{n}-worker-task",
        "queue_metrics": f"{n}-queue-metrics-task",
        "gpu_instance": f"{n}-gpu-instance",
    }


def family(cfg: Config, component: str) -> str:
    return f"{cfg.name}-{component}"


def trusted_proxies(cfg: Config) -> str:
    """MEDSEGTEXT_TRUSTED_PROXIES of the API (backend/http/proxies.py): the addresses whose
    X-Forwarded-For (and -Proto) it believes. The ALB's nodes and the portal's tasks have
    addresses in the VPC; a client can reach the API only through them."""
    return f"{cfg.network.vpc_cidr},{TASK_LOOPBACK}"


def config_values(cfg: Config) -> dict[str, str]:
    """This deployment's values for the variables the declaration leaves to each deployment."""
    values = {
        "AWS_REGION": cfg.region,
        "MEDSEGTEXT_S3_BUCKET": cfg.storage.bucket,
        "MEDSEGTEXT_S3_PREFIX": cfg.storage.prefix,
        "MEDSEGTEXT_DYNAMODB_TABLE": cfg.storage.table,
        "MEDSEGTEXT_INFERENCE_BACKEND": cfg.inference_backend,
        "MEDSEGTEXT_SAGEMAKER_ENDPOINT": cfg.sagemaker.endpoint,
        "MEDSEGTEXT_COOKIE_SECURE": "true",  # the ALB serves HTTPS
        "MEDSEGTEXT_TRUSTED_PROXIES": trusted_proxies(cfg),
        "REFLEX_API_URL": cfg.public_url,
        "REFLEX_DEPLOY_URL": cfg.public_url,
        "REFLEX_TRUSTED_PROXY_HOPS": str(PORTAL_PROXY_HOPS),
        "MEDSEGTEXT_METRICS_NAMESPACE": cfg.autoscaling.metric_namespace,
        "MEDSEGTEXT_METRICS_DEPLOYMENT": cfg.name,
    }
    if cfg.pacs is not None:
        values |= {
            "MEDSEGTEXT_PACS_AE_TITLE": cfg.pacs.ae_title,
            "MEDSEGTEXT_PACS_HOST": cfg.pacs.host,
            "MEDSEGTEXT_PACS_PORT": str(cfg.pacs.port),
            "MEDSEGTEXT_DICOM_AE_TITLE": cfg.pacs.node_ae_title,
            "MEDSEGTEXT_DICOM_CALLING_AETS": ",".join(cfg.pacs.calling_aets),
            "MEDSEGTEXT_DICOM_SERVICE_ACCOUNT": cfg.pacs.service_account,
        }
    return values


def environment(cfg: Config, spec: Container) -> dict[str, str]:
    """The declared variables with their fixed values, or this config's (the PACS's only when
    the config has one). A declared variable the config has no value for is an error."""
    values = config_values(cfg)
    env = {}
    for name, fixed in spec.environment.items():
        if fixed is not None:
            env[name] = fixed
        elif name in values:
            env[name] = values[name]
        elif not (name in PACS_ENV and cfg.pacs is None):
            raise KeyError(f"{spec.image}: the config gives no value for {name}")
    return env


def _secrets(cfg: Config, names: tuple[str, ...]) -> list[dict[str, str]]:
    field_of = {env: field for field, env in SECRET_ENV.items()}
    return [{"name": n, "valueFrom": cfg.secrets[field_of[n]]} for n in names]


def _logs(cfg: Config, component: str) -> dict[str, Any]:
    return {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": iam.log_group(cfg),
            "awslogs-region": cfg.region,
            "awslogs-stream-prefix": component,
        },
    }


#: component -> each declared port's name for Service Connect and the load balancers, and its
#: application protocol where it is HTTP.
PORT_NAMES: dict[str, list[tuple[str, dict[str, str]]]] = {
    "api": [("api", {"appProtocol": "http"})],
    "frontend": [("frontend", {"appProtocol": "http"})],
    "dicom-node": [("dicom", {})],
}


def container(cfg: Config, component: str, **extra: Any) -> dict[str, Any]:
    """The container definition of ``component`` as deploy/containers.py declares it."""
    spec = CONTAINERS[component]
    assert "ecs" in spec.where, f"{component} is not an ECS container"
    c: dict[str, Any] = {
        "name": component,
        "image": cfg.image(spec.image),
        "essential": True,
        "logConfiguration": _logs(cfg, component),
        "linuxParameters": {"initProcessEnabled": True},
        "environment": [{"name": k, "value": v} for k, v in sorted(environment(cfg, spec).items())],
        "stopTimeout": spec.stop_timeout_s,
    }
    if spec.command is not None:
        c["command"] = list(spec.command)
    if spec.ports:
        c["portMappings"] = [
            {"name": name, "containerPort": port, "protocol": "tcp", **proto}
            for port, (name, proto) in zip(spec.ports, PORT_NAMES[component], strict=True)
        ]
    if spec.secrets:
        c["secrets"] = _secrets(cfg, spec.secrets)
    if spec.health is not None:
        h = spec.health
        c["healthCheck"] = {
            "command": ["CMD", *h.command],
            "interval": h.interval_s,
            "timeout": h.timeout_s,
            "retries": h.retries,
            "startPeriod": h.start_period_s,
        }
    if spec.read_only:
        c["readonlyRootFilesystem"] = True
        c["mountPoints"] = [
            {"sourceVolume": TMP_VOLUME, "containerPath": WRITABLE_PATH, "readOnly": False}
        ]
    c.update(extra)
    return c


def _task(
    cfg: Config,
    component: str,
    containers: list[dict[str, Any]],
    size_key: str,
    task_role: str | None,
    compat: str = "FARGATE",
) -> dict[str, Any]:
    size = cfg.services[size_key]
    roles = role_names(cfg)
    td: dict[str, Any] = {
        "family": family(cfg, component),
        "executionRoleArn": iam.role_arn(cfg, roles["execution"]),
        "networkMode": "awsvpc",
        "requiresCompatibilities": [compat],
        "cpu": str(size.cpu),
        "memory": str(size.memory),
        "containerDefinitions": containers,
        "tags": [
            {"key": "application", "value": cfg.name},
            {"key": "component", "value": component},
        ],
    }
    if compat == "FARGATE":
        td["runtimePlatform"] = {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"}
    if any(c.get("readonlyRootFilesystem") for c in containers):
        td["volumes"] = [{"name": TMP_VOLUME}]
    if task_role:
        td["taskRoleArn"] = iam.role_arn(cfg, roles[task_role])
    return td


def api(cfg: Config) -> dict[str, Any]:
    return _task(cfg, "api", [container(cfg, "api")], "api", task_role="api")


def frontend(cfg: Config) -> dict[str, Any]:
    return _task(cfg, "frontend", [container(cfg, "frontend")], "frontend", task_role=None)


def worker(cfg: Config) -> dict[str, Any]:
    return _task(cfg, "worker", [container(cfg, "worker")], "worker", task_role="worker")


def worker_gpu(cfg: Config) -> dict[str, Any]:
    c = container(cfg, "worker-gpu", resourceRequirements=[{"type": "GPU", "value": "1"}])
    return _task(cfg, "worker-gpu", [c], "worker_gpu", task_role="worker", compat="EC2")


def queue_metrics(cfg: Config) -> dict[str, Any]:
    c = container(cfg, "queue-metrics")
    return _task(cfg, "queue-metrics", [c], "queue_metrics", task_role="queue_metrics")


def migrate(cfg: Config) -> dict[str, Any]:
    """``alembic upgrade head`` once per release, before the services roll."""
    return _task(cfg, "migrate", [container(cfg, "migrate")], "migrate", task_role=None)


def dicom_node(cfg: Config) -> dict[str, Any]:
    """``python -m backend.dicom_node`` from the API image, behind the network load balancer
    (deploy/ecs/loadbalancer.py). It writes cases to S3 as the API does, so the API's role."""
    assert cfg.pacs is not None, "the DICOM node needs the config's pacs section"
    c = container(cfg, "dicom-node")
    return _task(cfg, "dicom-node", [c], "dicom_node", task_role="api")


#: component -> builder, in registration order.
TASK_DEFINITIONS = {
    "api": api,
    "frontend": frontend,
    "worker": worker,
    "worker-gpu": worker_gpu,
    "queue-metrics": queue_metrics,
    "migrate": migrate,
    "dicom-node": dicom_node,
}
PACS_ONLY = frozenset({"dicom-node"})


def components(cfg: Config) -> list[str]:
    """The task definitions this config deploys (the DICOM node only with a PACS)."""
    return [c for c in TASK_DEFINITIONS if cfg.pacs is not None or c not in PACS_ONLY]
