"""ECS deployment of MedSegText, generated from one config file as a plan of boto3 calls.

``python -m deploy.ecs {repositories,create,update} --config FILE [--dry-run]``; see
deploy/README.md. Stages:

- ``repositories``: the ECR repositories the images are pushed to (run once, before the first
  push);
- ``create``: the first deployment: secrets and VPC CIDR checks, log group, IAM roles, GPU
  capacity, cluster, load balancer, task definitions, the migrate task (the plan stops unless
  it exits 0), services, autoscaling and alarms;
- ``update``: every later release: the same checks, new task definitions for the config's
  image tag, the migrate task, then each service rolled onto its new task definition.
"""

from __future__ import annotations

from deploy.config import Config
from deploy.ecs import infra, loadbalancer, scaling, services
from deploy.plan import Step

STAGES = ("repositories", "create", "update")


def build_plan(cfg: Config, stage: str = "create") -> list[Step]:
    if stage == "repositories":
        return infra.repositories(cfg)
    if stage == "create":
        return [
            *infra.check_secrets(cfg),
            *infra.check_network(cfg),
            *infra.log_group(cfg),
            *infra.roles(cfg),
            *infra.gpu_capacity(cfg),
            *infra.cluster(cfg),
            *loadbalancer.steps(cfg),
            *services.register(cfg),
            *services.run_migrations(cfg),
            *services.create(cfg),
            *scaling.steps(cfg),
            *services.wait_stable(cfg),
        ]
    if stage == "update":
        return [
            *infra.check_secrets(cfg),
            *infra.check_network(cfg),
            *services.register(cfg),
            *services.run_migrations(cfg),
            *services.update(cfg),
            *services.wait_stable(cfg),
        ]
    raise ValueError(f"unknown stage {stage!r} (one of {', '.join(STAGES)})")
