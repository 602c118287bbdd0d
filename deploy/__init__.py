"""Deployment tooling for MedSegText: the ECS plan generator (``python -m deploy.ecs``), the
SageMaker packager and deployer (``python -m deploy.sagemaker``), the queue-depth metric
publisher (``python -m deploy.metrics``) and the compose stack's AWS stand-in bootstrap
(``python -m deploy.local_init``). See deploy/README.md."""
