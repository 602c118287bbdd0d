"""A SageMaker real-time endpoint as the inference engine, through aioboto3's sagemaker-runtime
``invoke_endpoint``. The container behind it is ``backend.sagemaker_server``.

Error mapping (what SageMaker does with a container's answer, and what the job does with ours):
the container's 4xx comes back as ``ModelError`` (HTTP 424) carrying ``OriginalStatusCode`` and
``OriginalMessage`` -> InputError (the case fails, no retry); anything else -- the container's 5xx,
throttling, timeouts, refused connections -> DependencyUnavailable (the job retries)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import aioboto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from backend.adapters.errors import DependencyUnavailable
from backend.inference_backends.base import InferenceResult
from backend.inference_backends.wire import (
    SCOPE_OVERRIDE_ATTRIBUTE,
    decode_input_error,
    decode_result,
    sniff_content_type,
)
from backend.settings import Settings

DEPENDENCY = "inference service"


def runtime_config(settings: Settings) -> Config:
    """One attempt, bounded: an endpoint that accepts and never answers raises a read timeout
    after sagemaker_timeout_seconds (a retry of the job), long before arq's job timeout."""
    return Config(
        connect_timeout=settings.aws_connect_timeout_seconds,
        read_timeout=settings.sagemaker_timeout_seconds,
        retries={"max_attempts": 1, "mode": "standard"},
    )


def _client_error(e: ClientError) -> Exception:
    """Turn a sagemaker-runtime error into InputError (model said 4xx) or DependencyUnavailable."""
    response: dict[str, Any] = dict(e.response)
    err = response.get("Error", {})
    code = str(err.get("Code", ""))
    original = response.get("OriginalStatusCode")
    if code == "ModelError" and original is not None and 400 <= int(original) < 500:
        return decode_input_error(response.get("OriginalMessage"), int(original))
    return DependencyUnavailable(DEPENDENCY, f"{code or 'error'}: {err.get('Message', '')}")


class SageMakerBackend:
    def __init__(self, settings: Settings, model_version: str):
        self._settings = settings
        self.endpoint = settings.sagemaker_endpoint
        #: The release deployed behind the endpoint; corrected from each response's model info.
        self.model_version = model_version
        self._stack = AsyncExitStack()
        self._client: Any = None

    async def start(self) -> None:
        session = aioboto3.Session(region_name=self._settings.aws_region)
        self._client = await self._stack.enter_async_context(
            session.client(
                "sagemaker-runtime",
                endpoint_url=self._settings.sagemaker_endpoint_url,
                config=runtime_config(self._settings),
            )
        )

    async def predict(self, image_bytes: bytes, check_scope: bool = True) -> InferenceResult:
        extra = {} if check_scope else {"CustomAttributes": SCOPE_OVERRIDE_ATTRIBUTE}
        try:
            resp = await self._client.invoke_endpoint(
                EndpointName=self.endpoint,
                ContentType=sniff_content_type(image_bytes),
                Accept="application/json",
                Body=image_bytes,
                **extra,
            )
            payload = await resp["Body"].read()
        except ClientError as e:
            raise _client_error(e) from e
        except (TimeoutError, BotoCoreError, OSError) as e:
            raise DependencyUnavailable(DEPENDENCY, str(e) or type(e).__name__) from e
        try:
            result = decode_result(payload)
        except ValueError as e:
            raise DependencyUnavailable(DEPENDENCY, f"unreadable response: {e}") from e
        if result.model_version:
            self.model_version = result.model_version
        return result

    async def close(self) -> None:
        await self._stack.aclose()
