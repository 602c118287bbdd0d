"""ECS task definitions: api, frontend, CPU worker and queue-metrics on Fargate, the GPU worker
on EC2 GPU capacity, the migrate one-off, and with a PACS configured the DICOM node (Fargate).
Secrets come from Secrets Manager through the ``secrets`` list (ECS injects them at start);
plain ``environment`` holds nothing secret."""

from __future__ import annotations

from typing import Any

from deploy import iam
from deploy.config import Config

# Settings field -> the environment variable backend/settings/ reads it from.
SECRET_ENV = {
    "database_url": "DATABASE_URL",
    "redis_url": "REDIS_URL",
    "secret_key": "MEDSEGTEXT_SECRET_KEY",
    "identity_key": "MEDSEGTEXT_IDENTITY_KEY",
}
#: What api, workers and the node get: the identity map's key too (the node seals, the worker's
#: sender and the admin's read open; the same key in all).
BACKEND_SECRETS = ("database_url", "redis_url", "secret_key", "identity_key")
API_PORT, FRONTEND_PORT, NODE_PORT = 8000, 3000, 11112
API_DNS_NAME = "api"  # what the frontend calls, through ECS Service Connect
WORKER_STOP_TIMEOUT_S = 120  # a running job (job_timeout_seconds=120) gets to finish
TMP_VOLUME = "tmp"  # the only writable path of read-only containers (upload spooling)
MODEL_CACHE_DIR = "/tmp/models"  # registered model versions fetched from S3 by the workers
#: The API task's own network namespace: requests reach the API through the ECS-managed
#: Service Connect proxy in its task, which may connect from loopback. No other container runs
#: in that task.
TASK_LOOPBACK = "127.0.0.1"
#: Proxies between a browser and the portal: the ALB. Reflex then takes the browser's address
#: from the last X-Forwarded-For entry (the one the ALB appended) and forwards it to the API.
PORTAL_PROXY_HOPS = 1


def http_probe(port: int, path: str) -> list[str]:
    """A container health check without curl: the images are python:3.11-slim."""
    return [
        "CMD",
        "python",
        "-c",
        f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}{path}', "
        f"timeout=4)",
    ]


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


def pacs_environment(cfg: Config) -> dict[str, str]:
    """The PACS that results go back to and that searches ask, and the AE title the node is
    known by there (the API and the worker call as it)."""
    if cfg.pacs is None:
        return {}
    return {
        "MEDSEGTEXT_PACS_AE_TITLE": cfg.pacs.ae_title,
        "MEDSEGTEXT_PACS_HOST": cfg.pacs.host,
        "MEDSEGTEXT_PACS_PORT": str(cfg.pacs.port),
        "MEDSEGTEXT_DICOM_AE_TITLE": cfg.pacs.node_ae_title,
    }


def backend_environment(cfg: Config, inference_backend: str | None = None) -> dict[str, str]:
    """What api, workers and migrate read through backend/settings/ (none of it secret)."""
    return {
        **pacs_environment(cfg),
        "MEDSEGTEXT_ENVIRONMENT": "production",
        "AWS_REGION": cfg.region,
        "MEDSEGTEXT_S3_BUCKET": cfg.storage.bucket,
        "MEDSEGTEXT_S3_PREFIX": cfg.storage.prefix,
        "MEDSEGTEXT_DYNAMODB_TABLE": cfg.storage.table,
        "MEDSEGTEXT_INFERENCE_BACKEND": inference_backend or cfg.inference_backend,
        "MEDSEGTEXT_SAGEMAKER_ENDPOINT": cfg.sagemaker.endpoint,
        "MEDSEGTEXT_COOKIE_SECURE": "true",
        "MEDSEGTEXT_MODEL_CACHE_DIR": MODEL_CACHE_DIR,
    }


def _env(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in sorted(values.items())]


def _secrets(cfg: Config, *names: str) -> list[dict[str, str]]:
    return [{"name": SECRET_ENV[n], "valueFrom": cfg.secrets[n]} for n in names]


def _logs(cfg: Config, component: str) -> dict[str, Any]:
    return {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": iam.log_group(cfg),
            "awslogs-region": cfg.region,
            "awslogs-stream-prefix": component,
        },
    }


def _container(cfg: Config, component: str, image: str, **extra: Any) -> dict[str, Any]:
    read_only = extra.pop("read_only", True)
    c: dict[str, Any] = {
        "name": component,
        "image": cfg.image(image),
        "essential": True,
        "logConfiguration": _logs(cfg, component),
        "linuxParameters": {"initProcessEnabled": True},
    }
    if read_only:
        c["readonlyRootFilesystem"] = True
        c["mountPoints"] = [
            {"sourceVolume": TMP_VOLUME, "containerPath": "/tmp", "readOnly": False}
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


def trusted_proxies(cfg: Config) -> str:
    """MEDSEGTEXT_TRUSTED_PROXIES of the API (backend/http/proxies.py): the addresses whose
    X-Forwarded-For (and -Proto) it believes. The ALB's nodes and the portal's tasks have
    addresses in the VPC; a client can reach the API only through them."""
    return f"{cfg.network.vpc_cidr},{TASK_LOOPBACK}"


def api(cfg: Config) -> dict[str, Any]:
    c = _container(
        cfg,
        "api",
        "api",
        portMappings=[
            {"name": "api", "containerPort": API_PORT, "protocol": "tcp", "appProtocol": "http"}
        ],
        environment=_env(
            {**backend_environment(cfg), "MEDSEGTEXT_TRUSTED_PROXIES": trusted_proxies(cfg)}
        ),
        secrets=_secrets(cfg, *BACKEND_SECRETS),
        healthCheck={
            "command": http_probe(API_PORT, "/api/health"),
            "interval": 15,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 30,
        },
        stopTimeout=30,
    )
    return _task(cfg, "api", [c], "api", task_role="api")


def frontend(cfg: Config) -> dict[str, Any]:
    c = _container(
        cfg,
        "frontend",
        "frontend",
        read_only=False,  # Reflex compiles into .web on start
        portMappings=[
            {
                "name": "frontend",
                "containerPort": FRONTEND_PORT,
                "protocol": "tcp",
                "appProtocol": "http",
            }
        ],
        environment=_env(
            {
                "MEDSEGTEXT_API_URL": f"http://{API_DNS_NAME}:{API_PORT}",
                "MEDSEGTEXT_PORTAL_HOST": "0.0.0.0",
                "MEDSEGTEXT_PORTAL_PORT": str(FRONTEND_PORT),
                # The browser reaches the portal's websocket and uploads on the public URL; the
                # websocket and CORS accept pages from its origin (frontend/rxconfig.py).
                "REFLEX_API_URL": cfg.public_url,
                "REFLEX_DEPLOY_URL": cfg.public_url,
                "REFLEX_TRUSTED_PROXY_HOPS": str(PORTAL_PROXY_HOPS),
            }
        ),
        healthCheck={
            "command": http_probe(FRONTEND_PORT, "/ping"),
            "interval": 15,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 120,
        },
        stopTimeout=30,
    )
    return _task(cfg, "frontend", [c], "frontend", task_role=None)


def worker(cfg: Config) -> dict[str, Any]:
    c = _container(
        cfg,
        "worker",
        "worker",
        environment=_env(backend_environment(cfg)),
        secrets=_secrets(cfg, *BACKEND_SECRETS),
        stopTimeout=WORKER_STOP_TIMEOUT_S,
    )
    return _task(cfg, "worker", [c], "worker", task_role="worker")


def worker_gpu(cfg: Config) -> dict[str, Any]:
    c = _container(
        cfg,
        "worker-gpu",
        "worker-gpu",
        environment=_env(backend_environment(cfg, inference_backend="local")),
        secrets=_secrets(cfg, *BACKEND_SECRETS),
        resourceRequirements=[{"type": "GPU", "value": "1"}],
        stopTimeout=WORKER_STOP_TIMEOUT_S,
    )
    return _task(cfg, "worker-gpu", [c], "worker_gpu", task_role="worker", compat="EC2")


def queue_metrics(cfg: Config) -> dict[str, Any]:
    c = _container(
        cfg,
        "queue-metrics",
        "api",
        command=["python", "-m", "deploy.metrics", "--interval", "60"],
        environment=_env(
            {
                "AWS_REGION": cfg.region,
                "MEDSEGTEXT_METRICS_NAMESPACE": cfg.autoscaling.metric_namespace,
                "MEDSEGTEXT_METRICS_DEPLOYMENT": cfg.name,
            }
        ),
        secrets=_secrets(cfg, "redis_url"),
        stopTimeout=10,
    )
    return _task(cfg, "queue-metrics", [c], "queue_metrics", task_role="queue_metrics")


def migrate(cfg: Config) -> dict[str, Any]:
    """``alembic upgrade head`` once per release, before the services roll. It needs only the
    database URL (and the secret key, which production settings refuse to run without)."""
    env = {
        k: v
        for k, v in backend_environment(cfg).items()
        if k in ("MEDSEGTEXT_ENVIRONMENT", "AWS_REGION")
    }
    c = _container(
        cfg,
        "migrate",
        "migrate",
        environment=_env(env),
        secrets=_secrets(cfg, "database_url", "secret_key"),
    )
    return _task(cfg, "migrate", [c], "migrate", task_role=None)


def dicom_node(cfg: Config) -> dict[str, Any]:
    """``python -m backend.dicom_node`` from the API image, behind the network load balancer
    (deploy/ecs/loadbalancer.py). It writes cases to S3 as the API does, so the API's role."""
    assert cfg.pacs is not None, "the DICOM node needs the config's pacs section"
    c = _container(
        cfg,
        "dicom-node",
        "api",
        command=["python", "-m", "backend.dicom_node"],
        portMappings=[{"name": "dicom", "containerPort": NODE_PORT, "protocol": "tcp"}],
        environment=_env(
            {
                **backend_environment(cfg),
                "MEDSEGTEXT_DICOM_HOST": "0.0.0.0",
                "MEDSEGTEXT_DICOM_PORT": str(NODE_PORT),
                "MEDSEGTEXT_DICOM_CALLING_AETS": ",".join(cfg.pacs.calling_aets),
                "MEDSEGTEXT_DICOM_SERVICE_ACCOUNT": cfg.pacs.service_account,
            }
        ),
        secrets=_secrets(cfg, *BACKEND_SECRETS),
        stopTimeout=30,
    )
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
