"""What each container of the product needs, declared once: image, command, ports, environment,
health check, stop timeout and whether its root filesystem is read-only.

deploy/ecs/taskdefs.py builds the ECS task definitions from this declaration, and
tests/deploy/test_container_agreement.py checks that compose.yaml (as ``docker-compose config``
resolves it, with the images' own HEALTHCHECK where compose sets none) says the same for every
field. What compose may do differently is listed here too (``COMPOSE_ONLY_ENV``,
``NOT_DECLARED``), each with its reason: anything else that differs fails that test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

API_PORT, FRONTEND_PORT, NODE_PORT, SAGEMAKER_PORT = 8000, 3000, 11112, 8080
#: The name the portal reaches the API by: the compose service, the ECS Service Connect alias.
API_HOST = "api"
#: The one writable path of a read-only container: a tmpfs in compose, a task volume on ECS.
WRITABLE_PATH = "/tmp"
MODEL_CACHE_DIR = "/tmp/models"  # registered model versions the workers fetch from S3


@dataclass(frozen=True)
class HealthCheck:
    command: tuple[str, ...]  # exec form, after Docker's "CMD"
    interval_s: int
    timeout_s: int
    retries: int
    start_period_s: int


@dataclass(frozen=True)
class Container:
    """``image``: docker/<image>.Dockerfile, ``medsegtext/<image>`` in compose,
    ``<registry>/<name>/<image>`` on ECS. ``command`` None: the image's CMD. ``environment``:
    name -> the value every deployment sets, or None where each sets its own (the config's on
    ECS, this host's in compose). ``secrets``: what ECS injects from Secrets Manager (compose
    sets them as plain environment). ``health`` None: no health check."""

    image: str
    environment: Mapping[str, str | None]
    command: tuple[str, ...] | None = None
    ports: tuple[int, ...] = ()
    secrets: tuple[str, ...] = ()
    health: HealthCheck | None = None
    stop_timeout_s: int = 10
    read_only: bool = True
    where: frozenset[str] = field(default=frozenset({"compose", "ecs"}))


def http_probe(port: int, path: str) -> tuple[str, ...]:
    """A health check without curl: the images are python:3.11-slim."""
    return (
        "python",
        "-c",
        f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}{path}', "
        f"timeout=4)",
    )


#: What migrate reads: alembic takes the database URL from the production settings, which
#: refuse to load without the secret key.
DATABASE_ENV: Mapping[str, str | None] = {
    "MEDSEGTEXT_ENVIRONMENT": "production",
    "AWS_REGION": None,
}
DATABASE_SECRETS = ("DATABASE_URL", "MEDSEGTEXT_SECRET_KEY")
#: The PACS results go back to and searches ask, and the AE title the node is known by there.
#: ECS sets them only when the config has a PACS; compose always (empty AE title: none).
PACS_ENV: Mapping[str, str | None] = {
    "MEDSEGTEXT_PACS_AE_TITLE": None,
    "MEDSEGTEXT_PACS_HOST": None,
    "MEDSEGTEXT_PACS_PORT": None,
    "MEDSEGTEXT_DICOM_AE_TITLE": None,
}
#: What api, workers and the node read through backend/settings/ (none of it secret).
BACKEND_ENV: Mapping[str, str | None] = {
    **DATABASE_ENV,
    "MEDSEGTEXT_S3_BUCKET": None,
    "MEDSEGTEXT_S3_PREFIX": None,
    "MEDSEGTEXT_DYNAMODB_TABLE": None,
    "MEDSEGTEXT_INFERENCE_BACKEND": None,
    "MEDSEGTEXT_SAGEMAKER_ENDPOINT": None,
    "MEDSEGTEXT_COOKIE_SECURE": None,  # true behind the ALB's HTTPS; a plain-HTTP host says false
    "MEDSEGTEXT_MODEL_CACHE_DIR": MODEL_CACHE_DIR,
    **PACS_ENV,
}
#: The identity map's key too: the node seals, the worker's sender and the admin's read open.
BACKEND_SECRETS = ("DATABASE_URL", "REDIS_URL", "MEDSEGTEXT_SECRET_KEY", "MEDSEGTEXT_IDENTITY_KEY")
WORKER_STOP_TIMEOUT_S = 120  # a running job (job_timeout_seconds=120) gets to finish
WORKER_CHECK = ("arq", "--check", "backend.worker.settings.WorkerSettings")

CONTAINERS: Mapping[str, Container] = MappingProxyType(
    {
        "api": Container(
            image="api",
            environment={**BACKEND_ENV, "MEDSEGTEXT_TRUSTED_PROXIES": None},
            ports=(API_PORT,),
            secrets=BACKEND_SECRETS,
            health=HealthCheck(http_probe(API_PORT, "/api/health"), 15, 5, 3, 30),
            stop_timeout_s=30,  # uvicorn's --timeout-graceful-shutdown 25
        ),
        "frontend": Container(
            image="frontend",
            environment={
                "MEDSEGTEXT_API_URL": f"http://{API_HOST}:{API_PORT}",
                "MEDSEGTEXT_PORTAL_HOST": "0.0.0.0",
                "MEDSEGTEXT_PORTAL_PORT": str(FRONTEND_PORT),
                # the address browsers open: the websocket and CORS accept pages from its origin
                "REFLEX_API_URL": None,
                "REFLEX_DEPLOY_URL": None,
                "REFLEX_TRUSTED_PROXY_HOPS": None,  # 1 behind the ALB; 0 published directly
            },
            ports=(FRONTEND_PORT,),
            # the image carries its production build: a start only serves it
            health=HealthCheck(http_probe(FRONTEND_PORT, "/ping"), 15, 5, 3, 60),
            stop_timeout_s=30,
            read_only=False,  # Reflex compiles into .web on start
        ),
        "worker": Container(
            image="worker",
            environment=BACKEND_ENV,
            secrets=BACKEND_SECRETS,
            health=HealthCheck(WORKER_CHECK, 30, 10, 3, 60),
            stop_timeout_s=WORKER_STOP_TIMEOUT_S,
        ),
        "worker-gpu": Container(
            image="worker-gpu",
            # its GPU is the point: never sends inference to SageMaker
            environment={**BACKEND_ENV, "MEDSEGTEXT_INFERENCE_BACKEND": "local"},
            secrets=BACKEND_SECRETS,
            health=HealthCheck(WORKER_CHECK, 30, 10, 3, 90),
            stop_timeout_s=WORKER_STOP_TIMEOUT_S,
        ),
        "migrate": Container(
            image="migrate",
            environment=DATABASE_ENV,
            secrets=DATABASE_SECRETS,
            stop_timeout_s=30,
        ),
        "dicom-node": Container(
            image="api",
            command=("python", "-m", "backend.dicom_node"),
            environment={
                **BACKEND_ENV,
                "MEDSEGTEXT_DICOM_HOST": "0.0.0.0",
                "MEDSEGTEXT_DICOM_PORT": str(NODE_PORT),
                "MEDSEGTEXT_DICOM_CALLING_AETS": None,
                "MEDSEGTEXT_DICOM_SERVICE_ACCOUNT": None,
            },
            ports=(NODE_PORT,),
            secrets=BACKEND_SECRETS,
            # a TCP connect is what the node answers (one every 30 s holds no association place:
            # backend.dicom_node.admission); the API image's own check asks :8000
            health=HealthCheck(
                (
                    "python",
                    "-c",
                    f"import socket; socket.create_connection(('127.0.0.1', {NODE_PORT}), 4)"
                    ".close()",
                ),
                30,
                5,
                3,
                10,
            ),
            stop_timeout_s=30,
        ),
        "queue-metrics": Container(
            image="api",
            command=("python", "-m", "deploy.metrics", "--interval", "60"),
            environment={
                "AWS_REGION": None,
                "MEDSEGTEXT_METRICS_NAMESPACE": None,
                "MEDSEGTEXT_METRICS_DEPLOYMENT": None,
            },
            secrets=("REDIS_URL",),
            where=frozenset({"ecs"}),  # compose has no autoscaling to feed
        ),
        # SageMaker runs this image on AWS (deploy/sagemaker/): `serve`, port 8080, /ping.
        "sagemaker": Container(
            image="sagemaker",
            environment={},
            ports=(SAGEMAKER_PORT,),
            health=HealthCheck(http_probe(SAGEMAKER_PORT, "/ping"), 15, 5, 3, 60),
            stop_timeout_s=30,  # uvicorn's timeout_graceful_shutdown 25
            where=frozenset({"compose"}),
        ),
        # compose only: creates the stand-in's bucket and table, and optionally the first admin
        "aws-init": Container(
            image="api",
            command=("python", "-m", "deploy.local_init"),
            environment={
                **BACKEND_ENV,
                "MEDSEGTEXT_ADMIN_EMAIL": None,
                "MEDSEGTEXT_ADMIN_PASSWORD": None,
            },
            secrets=BACKEND_SECRETS,
            where=frozenset({"compose"}),
        ),
    }
)

#: compose service -> the declared container it runs.
COMPOSE_SERVICES: Mapping[str, str] = MappingProxyType(
    {
        **{name: name for name, c in CONTAINERS.items() if "compose" in c.where},
        "worker-sagemaker": "worker",  # the CPU worker, its inference sent to the sagemaker service
    }
)

# --- what compose may do differently, each with its reason --------------------------------------

#: Variables compose may add to any declared container.
COMPOSE_ONLY_ENV: Mapping[str, str] = MappingProxyType(
    {
        "MEDSEGTEXT_S3_ENDPOINT_URL": "the S3 stand-in (service aws); ECS calls S3 itself",
        "MEDSEGTEXT_DYNAMODB_ENDPOINT_URL": "the DynamoDB stand-in; ECS calls DynamoDB itself",
        "AWS_ACCESS_KEY_ID": "the stand-in's key; on ECS the task role signs the calls",
        "AWS_SECRET_ACCESS_KEY": "the stand-in's key; on ECS the task role signs the calls",
        "MEDSEGTEXT_SAGEMAKER_ENDPOINT_URL": "the sagemaker service speaking SageMaker's runtime "
        "API; on AWS the endpoint is found by name",
    }
)
#: compose services that run no container of the product.
NOT_DECLARED: Mapping[str, str] = MappingProxyType(
    {
        "postgres": "the official image; RDS on AWS",
        "redis": "the official image; ElastiCache on AWS",
        "aws": "the S3 + DynamoDB stand-in (deploy/local_aws.py); S3 and DynamoDB on AWS",
    }
)
