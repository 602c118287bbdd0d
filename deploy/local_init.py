"""One-off setup of the compose stack's stand-ins: ``python -m deploy.local_init``.

Creates the S3 bucket and the DynamoDB table (through the backend's own adapters, so names and
key schema are the product's) on the endpoints the settings name, and, when
``MEDSEGTEXT_ADMIN_EMAIL`` and ``MEDSEGTEXT_ADMIN_PASSWORD`` are set, the first admin account
(an existing one is left alone). On AWS the bucket and table are infrastructure, made before
the first deployment (deploy/README.md), and this module is not used.
"""

from __future__ import annotations

import asyncio
import os
import sys

from backend.settings import Settings, load_settings


async def ensure_storage(settings: Settings) -> None:
    from backend.adapters.predictions import PredictionStore
    from backend.adapters.storage import ObjectStore

    store, predictions = ObjectStore(settings), PredictionStore(settings)
    await store.start()
    await predictions.start()
    try:
        await store.ensure_bucket()
        await predictions.ensure_table()
    finally:
        await predictions.close()
        await store.close()


def ensure_admin(settings: Settings) -> str | None:
    email = os.environ.get("MEDSEGTEXT_ADMIN_EMAIL", "").strip()
    password = os.environ.get("MEDSEGTEXT_ADMIN_PASSWORD", "")
    if not email or not password:
        return None
    from backend.cli import CliError, users_create

    try:
        users_create(email, password, "admin", "Administrator", settings=settings)
    except CliError as e:
        if "exists" in str(e).lower():
            return f"admin {email} already exists"
        raise
    return f"admin {email} created"


def main() -> int:
    settings = load_settings()
    if not (settings.s3_endpoint_url and settings.dynamodb_endpoint_url):
        print(
            "error: local_init is for the compose stand-ins; MEDSEGTEXT_S3_ENDPOINT_URL and "
            "MEDSEGTEXT_DYNAMODB_ENDPOINT_URL must be set",
            file=sys.stderr,
        )
        return 2
    asyncio.run(ensure_storage(settings))
    print(f"bucket {settings.s3_bucket} and table {settings.dynamodb_table} ready")
    message = ensure_admin(settings)
    if message:
        print(message)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
